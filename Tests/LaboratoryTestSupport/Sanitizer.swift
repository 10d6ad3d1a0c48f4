import Foundation

/// Whether this build runs under AddressSanitizer or ThreadSanitizer (`swift test --sanitize=...`
/// builds the server executable the same way).
package enum Sanitizer {
    package static let isActive: Bool = {
        let handle = dlopen(nil, RTLD_NOW)
        defer { if let handle { dlclose(handle) } }
        return dlsym(handle, "__asan_init") != nil || dlsym(handle, "__tsan_init") != nil
    }()

    /// `duration`, or four times it under a sanitizer, which slows the code that much or more.
    /// For the slack on time the tests allow; scenarios whose honest clients or attackers need
    /// longer server deadlines under a sanitizer set those explicitly.
    package static func slack(_ duration: Duration) -> Duration { isActive ? duration * 4 : duration }
}

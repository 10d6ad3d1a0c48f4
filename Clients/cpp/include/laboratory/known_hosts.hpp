// The known-hosts file the reference clients share (PROTOCOL.md §4, "Known-hosts file").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace laboratory {

/// `ENDPOINT FINGERPRINT` lines; UTF-8, compared code point by code point (here: byte by byte,
/// which is the same for valid UTF-8), no normalization, a byte-order mark kept. Malformed lines
/// never match and are kept unchanged when the file is rewritten; the first entry for an endpoint
/// counts.
class KnownHostsFile {
public:
    /// Reads the file; a missing file is empty. Throws `Error` (invalid_argument) if it is not UTF-8.
    explicit KnownHostsFile(std::string path);

    /// `$XDG_CONFIG_HOME/laboratory/known_hosts`, else `~/.config/laboratory/known_hosts`.
    static std::string default_path();
    /// How a server is named: `host:port`, ASCII letters lower-cased, an IPv6 literal (any host
    /// with a `:`) in brackets, `[::1]:12800`.
    static std::string endpoint(const std::string& host, std::uint16_t port);

    /// The fingerprint recorded for the server, if any.
    std::optional<std::string> lookup(const std::string& host, std::uint16_t port) const;
    /// Records a fingerprint, replacing every entry of the endpoint with one line at the end, and
    /// writes the file atomically (a temporary file renamed over it) with mode 0600.
    void add(const std::string& host, std::uint16_t port, const std::string& fingerprint);

    const std::string& path() const { return path_; }

private:
    std::string path_;
    std::vector<std::string> lines_;
};

}  // namespace laboratory

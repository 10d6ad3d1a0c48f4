import Foundation
import LaboratoryTestSupport
import Testing

/// Runs the Python client's pytest suite (`Clients/python/tests`) against the binaries this test
/// run built, so that `swift test` is the whole test suite. CI installs its dependencies
/// (`pip install ./Clients/python[test]`, Xvfb); see `.ci/run`.
@Suite("Python client (pytest)", .timeLimit(.minutes(10)))
struct PythonClientTests {
    @Test("the Python client's suite passes against laboratory-server and the terminal client")
    func pytest() async throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let binaries = ServerProcess.executableURL.deletingLastPathComponent()
        let run = try ChildProcess(
            executable: URL(fileURLWithPath: "/usr/bin/env"),
            arguments: ["python3", "-m", "pytest", "-q", "-p", "no:cacheprovider", "Clients/python/tests"],
            environment: [
                "PYTHONPATH": root.appendingPathComponent("Clients/python/src").path,
                "LABORATORY_SERVER_BIN": binaries.appendingPathComponent("laboratory-server").path,
                "LABORATORY_CLIENT_BIN": binaries.appendingPathComponent("laboratory").path,
            ],
            removing: ["LABORATORY_PASSWORD"], directory: root)
        let output = await run.remainingLines()
        let exit = await run.waitForExit()
        #expect(exit.status == 0, "pytest failed:\n\(output.suffix(40).joined(separator: "\n"))\n\(exit.stderr)")
        #expect(output.contains { $0.contains(" passed") }, "\(output.suffix(5))")
    }
}

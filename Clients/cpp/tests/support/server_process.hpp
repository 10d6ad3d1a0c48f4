// Real processes for the live tests: laboratory-server on a free port, and the Swift terminal
// client driven through its standard input.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace laboratory::test {

/// A child process whose standard output (and error) lines are collected by a thread.
class Process {
public:
    /// Starts `argv[0]` with `argv`; `environment` entries (NAME=value) are added to ours.
    Process(const std::vector<std::string>& argv, const std::vector<std::string>& environment = {},
            bool with_stdin = false);
    ~Process();
    Process(const Process&) = delete;
    Process& operator=(const Process&) = delete;

    /// The first line (from the start) containing `text`, waiting at most `timeout`; throws if
    /// none comes or the output ends.
    std::string wait_for_line(const std::string& text, std::chrono::milliseconds timeout = std::chrono::seconds(30));
    /// Whether a line containing `text` has been seen.
    bool saw(const std::string& text);
    std::vector<std::string> lines();
    void write(const std::string& text);
    void close_stdin();
    /// Sends a signal and waits for the exit (killing it after `timeout`); returns the status.
    int stop(int signal_number, std::chrono::milliseconds timeout = std::chrono::seconds(15));
    /// Waits for the exit; returns the status, or -1 after the timeout.
    int wait(std::chrono::milliseconds timeout);
    pid_t pid() const { return pid_; }

private:
    void pump(int fd);
    pid_t pid_ = -1;
    int stdin_ = -1;
    std::thread reader_;
    std::mutex mutex_;
    std::condition_variable changed_;
    std::vector<std::string> lines_;
    bool ended_ = false;
    int status_ = -1;
    bool reaped_ = false;
};

/// The password every live server uses.
inline const char* const server_password = "correct horse battery staple";

/// laboratory-server on 127.0.0.1 with port 0, a password file and a state directory of its own.
class ServerProcess {
public:
    explicit ServerProcess(const std::vector<std::string>& extra_arguments = {});
    ~ServerProcess();
    std::uint16_t port() const { return port_; }
    const std::string& fingerprint() const { return fingerprint_; }
    const std::string& directory() const { return directory_; }
    const std::string& password_file() const { return password_file_; }
    Process& process() { return *process_; }
    /// SIGINT: a graceful stop (serverStopping, then closing code 9).
    int stop();

private:
    std::string directory_, password_file_, fingerprint_;
    std::uint16_t port_ = 0;
    std::unique_ptr<Process> process_;
};

}  // namespace laboratory::test

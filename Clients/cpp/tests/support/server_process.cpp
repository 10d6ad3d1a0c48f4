#include "support/server_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <memory>
#include <stdexcept>

#include "support/paths.hpp"

extern char** environ;

namespace laboratory::test {

Process::Process(const std::vector<std::string>& argv, const std::vector<std::string>& environment, bool with_stdin) {
    int out[2];
    int in[2] = {-1, -1};
    if (pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
    if (with_stdin && pipe2(in, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    posix_spawn_file_actions_adddup2(&actions, out[1], 2);
    if (with_stdin) {
        posix_spawn_file_actions_adddup2(&actions, in[0], 0);
    } else {
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    }
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    std::vector<std::string> env_storage;
    for (char** e = environ; *e; ++e) env_storage.emplace_back(*e);
    for (const auto& e : environment) env_storage.push_back(e);
    std::vector<char*> env;
    for (auto& e : env_storage) env.push_back(e.data());
    env.push_back(nullptr);
    int result = posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), env.data());
    posix_spawn_file_actions_destroy(&actions);
    ::close(out[1]);
    if (with_stdin) {
        ::close(in[0]);
        stdin_ = in[1];
    }
    if (result != 0) {
        ::close(out[0]);
        throw std::runtime_error("cannot start " + argv[0] + ": " + std::strerror(result));
    }
    reader_ = std::thread([this, fd = out[0]] { pump(fd); });
}

Process::~Process() {
    if (!reaped_) stop(SIGKILL, std::chrono::seconds(5));
    close_stdin();
    if (reader_.joinable()) reader_.join();
}

void Process::pump(int fd) {
    std::string partial;
    char buffer[4096];
    while (true) {
        ssize_t n = ::read(fd, buffer, sizeof buffer);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        partial.append(buffer, static_cast<std::size_t>(n));
        std::size_t newline;
        while ((newline = partial.find('\n')) != std::string::npos) {
            std::lock_guard<std::mutex> lock(mutex_);
            lines_.push_back(partial.substr(0, newline));
            partial.erase(0, newline + 1);
            changed_.notify_all();
        }
    }
    ::close(fd);
    std::lock_guard<std::mutex> lock(mutex_);
    if (!partial.empty()) lines_.push_back(partial);
    ended_ = true;
    changed_.notify_all();
}

std::string Process::wait_for_line(const std::string& text, std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mutex_);
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
        for (const auto& line : lines_) {
            if (line.find(text) != std::string::npos) return line;
        }
        if (ended_) break;
        if (changed_.wait_until(lock, deadline) == std::cv_status::timeout) break;
    }
    std::string seen;
    for (const auto& line : lines_) seen += "\n  " + line;
    throw std::runtime_error("no line containing \"" + text + "\"; output so far:" + seen);
}

bool Process::saw(const std::string& text) {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& line : lines_) {
        if (line.find(text) != std::string::npos) return true;
    }
    return false;
}

std::vector<std::string> Process::lines() {
    std::lock_guard<std::mutex> lock(mutex_);
    return lines_;
}

void Process::write(const std::string& text) {
    std::size_t written = 0;
    while (written < text.size()) {
        ssize_t n = ::write(stdin_, text.data() + written, text.size() - written);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) throw std::runtime_error("cannot write to the process");
        written += static_cast<std::size_t>(n);
    }
}

void Process::close_stdin() {
    if (stdin_ >= 0) {
        ::close(stdin_);
        stdin_ = -1;
    }
}

int Process::wait(std::chrono::milliseconds timeout) {
    if (reaped_) return status_;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
        int status = 0;
        pid_t done = ::waitpid(pid_, &status, WNOHANG);
        if (done == pid_) {
            reaped_ = true;
            status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            return status_;
        }
        if (std::chrono::steady_clock::now() >= deadline) return -1;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));  // polling a child's exit; nothing to await
    }
}

int Process::stop(int signal_number, std::chrono::milliseconds timeout) {
    if (reaped_) return status_;
    ::kill(pid_, signal_number);
    int status = wait(timeout);
    if (status == -1) {
        ::kill(pid_, SIGKILL);
        status = wait(std::chrono::seconds(5));
    }
    return status;
}

ServerProcess::ServerProcess(const std::vector<std::string>& extra_arguments) : directory_(temporary_directory()) {
    password_file_ = directory_ + "/password";
    {
        std::ofstream file(password_file_);
        file << server_password << "\n";
    }
    ::chmod(password_file_.c_str(), 0600);
    std::vector<std::string> argv = {server_binary(), "--host", "127.0.0.1", "--port", "0", "--state-dir",
                                     directory_ + "/state", "--password-file", password_file_, "--log-level", "warning"};
    argv.insert(argv.end(), extra_arguments.begin(), extra_arguments.end());
    process_ = std::make_unique<Process>(argv);
    std::string fingerprint_line = process_->wait_for_line("Host key fingerprint: ");
    fingerprint_ = fingerprint_line.substr(fingerprint_line.find("SHA256:"));
    fingerprint_ = fingerprint_.substr(0, fingerprint_.find_first_of(" \t\r"));
    std::string listening = process_->wait_for_line("Listening on 127.0.0.1:");
    port_ = static_cast<std::uint16_t>(std::stoi(listening.substr(listening.rfind(':') + 1)));
}

ServerProcess::~ServerProcess() {
    if (process_) process_->stop(SIGINT);
    std::string command = "rm -rf '" + directory_ + "'";
    if (std::system(command.c_str()) != 0) {
        // Leaving a temporary directory behind is harmless.
    }
}

int ServerProcess::stop() { return process_->stop(SIGINT); }

}  // namespace laboratory::test

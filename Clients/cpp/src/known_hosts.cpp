#include "laboratory/known_hosts.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "laboratory/bytes.hpp"
#include "laboratory/error.hpp"

namespace laboratory {

namespace {

struct Entry {
    std::string endpoint;
    std::string fingerprint;
};

std::optional<std::string> canonical(const std::string& field) {
    std::size_t colon = field.rfind(':');
    if (colon == std::string::npos) return std::nullopt;
    std::string port_text = field.substr(colon + 1);
    if (port_text.empty() || port_text.size() > 5 || port_text[0] == '0') return std::nullopt;
    for (char c : port_text) {
        if (c < '0' || c > '9') return std::nullopt;
    }
    long port = std::strtol(port_text.c_str(), nullptr, 10);
    if (port < 1 || port > 65535) return std::nullopt;
    std::string host = field.substr(0, colon);
    if (!host.empty() && host.front() == '[') {
        if (host.size() <= 2 || host.back() != ']') return std::nullopt;
        host = host.substr(1, host.size() - 2);
    } else if (host.find_first_of("[]") != std::string::npos) {
        return std::nullopt;
    }
    if (host.empty()) return std::nullopt;
    return KnownHostsFile::endpoint(host, static_cast<std::uint16_t>(port));
}

std::optional<Entry> entry(const std::string& line) {
    std::vector<std::string> fields;
    std::size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
        std::size_t start = i;
        while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
        if (i > start) fields.push_back(line.substr(start, i - start));
    }
    if (fields.size() != 2 || fields[0][0] == '#' || fields[1].rfind("SHA256:", 0) != 0) return std::nullopt;
    auto endpoint = canonical(fields[0]);
    if (!endpoint) return std::nullopt;
    return Entry{*endpoint, fields[1]};
}

void make_directories(const std::string& directory) {
    if (directory.empty()) return;
    std::string partial;
    std::stringstream parts(directory);
    std::string part;
    if (directory[0] == '/') partial = "/";
    while (std::getline(parts, part, '/')) {
        if (part.empty()) continue;
        partial += part + "/";
        if (mkdir(partial.c_str(), 0700) != 0 && errno != EEXIST) {
            throw Error(Error::Kind::invalid_argument, "cannot create " + partial + ": " + std::strerror(errno));
        }
    }
}

}  // namespace

KnownHostsFile::KnownHostsFile(std::string path) : path_(std::move(path)) {
    std::ifstream file(path_, std::ios::binary);
    if (!file) return;
    std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    if (!is_valid_utf8(text)) throw Error(Error::Kind::invalid_argument, path_ + " is not UTF-8 text");
    std::size_t start = 0;
    while (start < text.size()) {
        std::size_t end = text.find('\n', start);
        if (end == std::string::npos) end = text.size();
        std::string line = text.substr(start, end - start);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        lines_.push_back(line);
        start = end + 1;
    }
}

std::string KnownHostsFile::default_path() {
    const char* xdg = std::getenv("XDG_CONFIG_HOME");
    if (xdg && *xdg) return std::string(xdg) + "/laboratory/known_hosts";
    const char* home = std::getenv("HOME");
    return std::string(home ? home : ".") + "/.config/laboratory/known_hosts";
}

std::string KnownHostsFile::endpoint(const std::string& host, std::uint16_t port) {
    std::string folded = host;
    for (char& c : folded) {
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    if (folded.size() >= 2 && folded.front() == '[' && folded.back() == ']') folded = folded.substr(1, folded.size() - 2);
    if (folded.find(':') != std::string::npos) return "[" + folded + "]:" + std::to_string(port);
    return folded + ":" + std::to_string(port);
}

std::optional<std::string> KnownHostsFile::lookup(const std::string& host, std::uint16_t port) const {
    std::string wanted = endpoint(host, port);
    for (const std::string& line : lines_) {
        auto found = entry(line);
        if (found && found->endpoint == wanted) return found->fingerprint;
    }
    return std::nullopt;
}

void KnownHostsFile::add(const std::string& host, std::uint16_t port, const std::string& fingerprint) {
    std::string key = endpoint(host, port);
    std::vector<std::string> kept;
    for (const std::string& line : lines_) {
        auto found = entry(line);
        if (!(found && found->endpoint == key)) kept.push_back(line);
    }
    kept.push_back(key + " " + fingerprint);
    std::string text;
    for (const std::string& line : kept) text += line + "\n";

    std::size_t slash = path_.rfind('/');
    if (slash != std::string::npos) make_directories(path_.substr(0, slash));
    std::string temporary = path_ + ".tmp." + std::to_string(getpid());
    int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) throw Error(Error::Kind::invalid_argument, "cannot write " + temporary + ": " + std::strerror(errno));
    std::size_t written = 0;
    while (written < text.size()) {
        ssize_t n = ::write(fd, text.data() + written, text.size() - written);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            ::close(fd);
            ::unlink(temporary.c_str());
            throw Error(Error::Kind::invalid_argument, "cannot write " + temporary + ": " + std::strerror(errno));
        }
        written += static_cast<std::size_t>(n);
    }
    ::fchmod(fd, 0600);
    ::fsync(fd);
    ::close(fd);
    if (::rename(temporary.c_str(), path_.c_str()) != 0) {
        ::unlink(temporary.c_str());
        throw Error(Error::Kind::invalid_argument, "cannot replace " + path_ + ": " + std::strerror(errno));
    }
    lines_ = std::move(kept);
}

}  // namespace laboratory

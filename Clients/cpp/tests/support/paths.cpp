#include "support/paths.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace laboratory::test {

std::string repo_root() {
    const char* override_root = std::getenv("LABORATORY_REPO");
    return override_root && *override_root ? override_root : LABORATORY_REPO_ROOT;
}

std::string read_text(const std::string& path) {
    std::ifstream file(path, std::ios::binary);
    if (!file) throw std::runtime_error("cannot read " + path);
    std::stringstream text;
    text << file.rdbuf();
    return text.str();
}

std::map<std::string, Bytes> protocol_vectors() {
    std::string text = read_text(repo_root() + "/Docs/PROTOCOL.md");
    std::map<std::string, std::string> hex;
    std::istringstream lines(text);
    std::string line, current;
    bool inside = false;
    while (std::getline(lines, line)) {
        if (!inside) {
            inside = line == "```vector";
            continue;
        }
        if (line.rfind("```", 0) == 0) {
            inside = false;
            current.clear();
            continue;
        }
        if (line.find_first_not_of(" \t") == std::string::npos) continue;
        if (line[0] == ' ' || line[0] == '\t') {
            if (current.empty()) throw std::runtime_error("a continuation line without a name: " + line);
            hex[current] += line.substr(line.find_first_not_of(" \t"));
            continue;
        }
        std::size_t colon = line.find(':');
        if (colon == std::string::npos) throw std::runtime_error("a vector line without a name: " + line);
        current = line.substr(0, colon);
        if (hex.count(current)) throw std::runtime_error("vector " + current + " defined twice");
        std::string value = line.substr(colon + 1);
        std::size_t first = value.find_first_not_of(" \t");
        hex[current] = first == std::string::npos ? "" : value.substr(first);
    }
    std::map<std::string, Bytes> vectors;
    for (auto& [name, value] : hex) {
        while (!value.empty() && (value.back() == ' ' || value.back() == '\t' || value.back() == '\r')) value.pop_back();
        vectors[name] = from_hex(value);
    }
    return vectors;
}

namespace {
std::string binary(const char* variable, const char* product) {
    const char* path = std::getenv(variable);
    if (path && *path) return path;
    return repo_root() + "/.build/debug/" + product;
}
}  // namespace

std::string server_binary() { return binary("LABORATORY_SERVER_BIN", "laboratory-server"); }
std::string client_binary() { return binary("LABORATORY_CLIENT_BIN", "laboratory"); }

std::string temporary_directory() {
    std::string pattern = "/tmp/laboratory-cpp-XXXXXX";
    if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    return pattern;
}

}  // namespace laboratory::test

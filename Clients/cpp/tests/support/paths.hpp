// Where the tests find the repository's files and the Swift binaries.
#pragma once

#include <map>
#include <string>

#include "laboratory/bytes.hpp"

namespace laboratory::test {

/// The repository root (LABORATORY_REPO, else the checkout this was built from).
std::string repo_root();
/// A file's whole contents.
std::string read_text(const std::string& path);
/// Every ```vector block of Docs/PROTOCOL.md as name -> bytes (indented lines continue a value).
std::map<std::string, Bytes> protocol_vectors();
/// The Swift server: LABORATORY_SERVER_BIN, else .build/debug/laboratory-server.
std::string server_binary();
/// The Swift terminal client: LABORATORY_CLIENT_BIN, else .build/debug/laboratory.
std::string client_binary();
/// A fresh temporary directory.
std::string temporary_directory();

}  // namespace laboratory::test

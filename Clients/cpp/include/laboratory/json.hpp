// The small JSON subset the chat service speaks (PROTOCOL.md §17): objects, arrays, strings,
// integers, booleans and null. Parsing is strict (no fractions or exponents, no integer beyond a
// double's range, no duplicate names, no lone surrogates, at most 32 levels); writing produces only
// conforming bodies.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace laboratory {

class Json {
public:
    enum class Type { null, boolean, integer, string, array, object };

    Json() = default;
    static Json parse(const std::string& text);  // throws Error (protocol_violation)

    Type type() const { return type_; }
    bool is_object() const { return type_ == Type::object; }
    /// A member of an object, or nullptr.
    const Json* find(const std::string& name) const;
    const std::vector<Json>& items() const { return items_; }
    const std::vector<std::pair<std::string, Json>>& members() const { return members_; }

    std::optional<std::string> string() const;
    std::optional<std::uint64_t> u64() const;
    std::optional<std::int64_t> i64() const;
    std::optional<bool> boolean() const;

    /// Member helpers: the member's value if present and of the right type.
    std::optional<std::string> string_at(const std::string& name) const;
    std::optional<std::uint64_t> u64_at(const std::string& name) const;
    std::optional<std::int64_t> i64_at(const std::string& name) const;

private:
    friend class JsonParser;
    Type type_ = Type::null;
    bool boolean_ = false;
    std::string text_;  // a string's value, or an integer's digits
    std::vector<Json> items_;
    std::vector<std::pair<std::string, Json>> members_;
};

/// Builds a JSON object member by member, in order.
class JsonObjectWriter {
public:
    JsonObjectWriter& field(const std::string& name, const std::string& value);
    JsonObjectWriter& field(const std::string& name, const char* value) { return field(name, std::string(value)); }
    JsonObjectWriter& field(const std::string& name, std::uint64_t value);
    std::string str() const { return "{" + body_ + "}"; }

private:
    void name(const std::string& name);
    std::string body_;
};

/// A JSON string literal, quoted and escaped.
std::string json_quote(const std::string& text);

}  // namespace laboratory

#include "laboratory/json.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <set>

#include "laboratory/bytes.hpp"
#include "laboratory/error.hpp"

namespace laboratory {

class JsonParser {
public:
    explicit JsonParser(const std::string& text) : text_(text) {}

    Json document() {
        skip_space();
        Json value = parse_value(1);
        skip_space();
        if (position_ != text_.size()) fail("text after the value");
        return value;
    }

private:
    [[noreturn]] void fail(const std::string& what) const { fail_at(position_, what); }
    [[noreturn]] static void fail_at(std::size_t offset, const std::string& what) {
        throw Error(Error::Kind::protocol_violation, "invalid JSON at byte " + std::to_string(offset) + ": " + what);
    }
    void skip_space() {
        while (position_ < text_.size() &&
               (text_[position_] == ' ' || text_[position_] == '\t' || text_[position_] == '\n' || text_[position_] == '\r')) {
            ++position_;
        }
    }
    bool take(char c) {
        if (position_ < text_.size() && text_[position_] == c) {
            ++position_;
            return true;
        }
        return false;
    }
    void expect_word(const char* word) {
        for (const char* p = word; *p; ++p) {
            if (!take(*p)) fail(std::string("expected ") + word);
        }
    }

    Json parse_value(int depth) {
        if (position_ >= text_.size()) fail("unexpected end");
        Json value;
        char c = text_[position_];
        if (c == '{' || c == '[') {
            if (depth > 32) fail("nested more than 32 levels");
            ++position_;
            skip_space();
            bool object = c == '{';
            value.type_ = object ? Json::Type::object : Json::Type::array;
            std::set<std::string> names;
            if (take(object ? '}' : ']')) return value;
            while (true) {
                skip_space();
                if (object) {
                    if (position_ >= text_.size() || text_[position_] != '"') fail("expected a member name");
                    std::string name = parse_string();
                    if (!names.insert(name).second) fail("duplicate member \"" + name + "\"");
                    skip_space();
                    if (!take(':')) fail("expected ':'");
                    skip_space();
                    value.members_.emplace_back(std::move(name), parse_value(depth + 1));
                } else {
                    value.items_.push_back(parse_value(depth + 1));
                }
                skip_space();
                if (take(',')) continue;
                if (take(object ? '}' : ']')) return value;
                fail("expected ',' or a closing bracket");
            }
        }
        if (c == '"') {
            value.type_ = Json::Type::string;
            value.text_ = parse_string();
            return value;
        }
        if (c == 't') {
            expect_word("true");
            value.type_ = Json::Type::boolean;
            value.boolean_ = true;
            return value;
        }
        if (c == 'f') {
            expect_word("false");
            value.type_ = Json::Type::boolean;
            return value;
        }
        if (c == 'n') {
            expect_word("null");
            return value;
        }
        if (c == '-' || (c >= '0' && c <= '9')) {
            std::size_t start = position_;
            take('-');
            if (take('0')) {
                if (position_ < text_.size() && text_[position_] >= '0' && text_[position_] <= '9') fail("leading zero");
            } else {
                if (position_ >= text_.size() || text_[position_] < '1' || text_[position_] > '9') fail("expected a digit");
                while (position_ < text_.size() && text_[position_] >= '0' && text_[position_] <= '9') ++position_;
            }
            if (position_ < text_.size() && (text_[position_] == '.' || text_[position_] == 'e' || text_[position_] == 'E')) {
                fail("numbers are integers (no fraction or exponent)");
            }
            value.type_ = Json::Type::integer;
            value.text_ = text_.substr(start, position_ - start);
            if (value.text_ == "-0") fail("-0");
            // Within a double's range (RFC 8259 §6, as the server checks): every integer of up to
            // 308 digits is, none of 310 or more is (10^309 is beyond it), and one of 309 digits is
            // parsed to see, so a long run of digits costs no conversion.
            std::size_t digits = position_ - start - (text_[start] == '-' ? 1 : 0);
            if (digits > 309 || (digits == 309 && std::isinf(std::strtod(value.text_.c_str(), nullptr)))) {
                fail_at(start, "integer beyond a double's range");
            }
            return value;
        }
        fail("unexpected character");
    }

    unsigned hex4() {
        if (position_ + 4 > text_.size()) fail("short \\u escape");
        unsigned value = 0;
        for (int i = 0; i < 4; ++i) {
            char c = text_[position_++];
            value <<= 4;
            if (c >= '0' && c <= '9') value |= static_cast<unsigned>(c - '0');
            else if (c >= 'a' && c <= 'f') value |= static_cast<unsigned>(c - 'a' + 10);
            else if (c >= 'A' && c <= 'F') value |= static_cast<unsigned>(c - 'A' + 10);
            else fail("bad \\u escape");
        }
        return value;
    }

    static void append_utf8(std::string& out, std::uint32_t code) {
        if (code < 0x80) {
            out.push_back(static_cast<char>(code));
        } else if (code < 0x800) {
            out.push_back(static_cast<char>(0xC0 | (code >> 6)));
            out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
        } else if (code < 0x10000) {
            out.push_back(static_cast<char>(0xE0 | (code >> 12)));
            out.push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3F)));
            out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
        } else {
            out.push_back(static_cast<char>(0xF0 | (code >> 18)));
            out.push_back(static_cast<char>(0x80 | ((code >> 12) & 0x3F)));
            out.push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3F)));
            out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
        }
    }

    std::string parse_string() {
        ++position_;  // the opening quote
        std::string out;
        while (true) {
            if (position_ >= text_.size()) fail("unterminated string");
            unsigned char c = static_cast<unsigned char>(text_[position_++]);
            if (c == '"') break;
            if (c < 0x20) fail("control character in a string");
            if (c != '\\') {
                out.push_back(static_cast<char>(c));
                continue;
            }
            if (position_ >= text_.size()) fail("unterminated escape");
            char e = text_[position_++];
            switch (e) {
                case '"': out.push_back('"'); break;
                case '\\': out.push_back('\\'); break;
                case '/': out.push_back('/'); break;
                case 'b': out.push_back('\b'); break;
                case 'f': out.push_back('\f'); break;
                case 'n': out.push_back('\n'); break;
                case 'r': out.push_back('\r'); break;
                case 't': out.push_back('\t'); break;
                case 'u': {
                    std::uint32_t code = hex4();
                    if (code >= 0xD800 && code <= 0xDBFF) {
                        if (!(take('\\') && take('u'))) fail("lone surrogate");
                        std::uint32_t low = hex4();
                        if (low < 0xDC00 || low > 0xDFFF) fail("lone surrogate");
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
                    } else if (code >= 0xDC00 && code <= 0xDFFF) {
                        fail("lone surrogate");
                    }
                    append_utf8(out, code);
                    break;
                }
                default: fail("bad escape");
            }
        }
        if (!is_valid_utf8(out)) fail("string is not valid UTF-8");
        return out;
    }

    const std::string& text_;
    std::size_t position_ = 0;
};

Json Json::parse(const std::string& text) { return JsonParser(text).document(); }

const Json* Json::find(const std::string& name) const {
    for (const auto& member : members_) {
        if (member.first == name) return &member.second;
    }
    return nullptr;
}

std::optional<std::string> Json::string() const {
    if (type_ != Type::string) return std::nullopt;
    return text_;
}

std::optional<std::uint64_t> Json::u64() const {
    if (type_ != Type::integer || text_[0] == '-' || text_.size() > 20) return std::nullopt;
    std::uint64_t value = 0;
    for (char c : text_) {
        std::uint64_t digit = static_cast<std::uint64_t>(c - '0');
        if (value > (UINT64_MAX - digit) / 10) return std::nullopt;
        value = value * 10 + digit;
    }
    return value;
}

std::optional<std::int64_t> Json::i64() const {
    if (type_ != Type::integer) return std::nullopt;
    bool negative = text_[0] == '-';
    std::uint64_t magnitude = 0;
    for (std::size_t i = negative ? 1 : 0; i < text_.size(); ++i) {
        std::uint64_t digit = static_cast<std::uint64_t>(text_[i] - '0');
        if (magnitude > (UINT64_MAX - digit) / 10) return std::nullopt;
        magnitude = magnitude * 10 + digit;
    }
    if (!negative) {
        if (magnitude > static_cast<std::uint64_t>(INT64_MAX)) return std::nullopt;
        return static_cast<std::int64_t>(magnitude);
    }
    if (magnitude > static_cast<std::uint64_t>(INT64_MAX) + 1) return std::nullopt;
    return magnitude == static_cast<std::uint64_t>(INT64_MAX) + 1 ? INT64_MIN : -static_cast<std::int64_t>(magnitude);
}

std::optional<bool> Json::boolean() const {
    if (type_ != Type::boolean) return std::nullopt;
    return boolean_;
}

std::optional<std::string> Json::string_at(const std::string& name) const {
    const Json* member = find(name);
    return member ? member->string() : std::nullopt;
}
std::optional<std::uint64_t> Json::u64_at(const std::string& name) const {
    const Json* member = find(name);
    return member ? member->u64() : std::nullopt;
}
std::optional<std::int64_t> Json::i64_at(const std::string& name) const {
    const Json* member = find(name);
    return member ? member->i64() : std::nullopt;
}

std::string json_quote(const std::string& text) {
    std::string out = "\"";
    for (unsigned char c : text) {
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            default:
                if (c < 0x20) {
                    char escape[8];
                    std::snprintf(escape, sizeof escape, "\\u%04x", c);
                    out += escape;
                } else {
                    out.push_back(static_cast<char>(c));
                }
        }
    }
    return out + "\"";
}

void JsonObjectWriter::name(const std::string& name) {
    if (!body_.empty()) body_ += ",";
    body_ += json_quote(name) + ":";
}

JsonObjectWriter& JsonObjectWriter::field(const std::string& field_name, const std::string& value) {
    name(field_name);
    body_ += json_quote(value);
    return *this;
}

JsonObjectWriter& JsonObjectWriter::field(const std::string& field_name, std::uint64_t value) {
    name(field_name);
    body_ += std::to_string(value);
    return *this;
}

}  // namespace laboratory

#include "brokers/redis/reply.hpp"

#include "brokers/redis/errors.hpp"

namespace fluid::redis {

namespace {

[[noreturn]] void wrong_type(const Reply& reply, std::string_view expected) {
  throw BrokerError("Redis replied " + reply.describe() + " where " + std::string(expected) + " was expected");
}

// `before`, the text clipped to 60 bytes, `after`; appended piece by piece
// (g++ 12 warns falsely, -Wrestrict, on "x" + std::string in Release).
std::string framed(std::string_view before, std::string_view text, std::string_view after) {
  constexpr std::size_t shown = 60;
  std::string out(before);
  out.append(text.substr(0, shown));
  if (text.size() > shown) out.append("...");
  out.append(after);
  return out;
}

}  // namespace

const std::string& Reply::as_string() const {
  if (type != Type::string && type != Type::status) wrong_type(*this, "a string");
  return text;
}

long long Reply::as_integer() const {
  if (type != Type::integer) wrong_type(*this, "an integer");
  return integer;
}

const std::vector<Reply>& Reply::as_array() const {
  if (type != Type::array) wrong_type(*this, "an array");
  return elements;
}

std::string Reply::describe() const {
  switch (type) {
    case Type::nil: return "nil";
    case Type::integer: return std::to_string(integer);
    case Type::string: return framed("\"", text, "\"");
    case Type::status: return framed("+", text, "");
    case Type::error: return framed("-", text, "");
    case Type::array: return framed("[", std::to_string(elements.size()), " elements]");
  }
  return "?";
}

std::string_view to_string(Reply::Type type) noexcept {
  switch (type) {
    case Reply::Type::nil: return "nil";
    case Reply::Type::integer: return "integer";
    case Reply::Type::string: return "string";
    case Reply::Type::status: return "status";
    case Reply::Type::error: return "error";
    case Reply::Type::array: return "array";
  }
  return "?";
}

}  // namespace fluid::redis

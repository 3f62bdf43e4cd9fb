#include "brokers/redis/reply.hpp"

#include "brokers/redis/errors.hpp"

namespace fluid::redis {

namespace {

[[noreturn]] void wrong_type(const Reply& reply, std::string_view expected) {
  throw BrokerError("Redis replied " + reply.describe() + " where " + std::string(expected) + " was expected");
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
  constexpr std::size_t shown = 60;
  const auto clip = [&](const std::string& s) { return s.size() <= shown ? s : s.substr(0, shown) + "..."; };
  switch (type) {
    case Type::nil: return "nil";
    case Type::integer: return std::to_string(integer);
    case Type::string: return "\"" + clip(text) + "\"";
    case Type::status: return "+" + clip(text);
    case Type::error: return "-" + clip(text);
    case Type::array: return "[" + std::to_string(elements.size()) + " elements]";
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

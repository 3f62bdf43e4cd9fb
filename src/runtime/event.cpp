#include "fluid/event.hpp"

#include "fluid/errors.hpp"

#include <string>

namespace fluid {

namespace {

[[noreturn]] void reject(std::string_view event, std::string_view why) {
  throw FluidError("fluid::Event: invalid event \"" + std::string(event) + "\": " + std::string(why) +
                   " (expected \"type\" or \"type.tag\")");
}

}  // namespace

Event Event::from_string(std::string_view event) {
  const auto dot = event.find('.');
  const auto type = event.substr(0, dot);
  if (type.empty()) reject(event, "the type is empty");
  if (dot == std::string_view::npos) return Event{std::string(type), {}};
  const auto tag = event.substr(dot + 1);
  if (tag.find('.') != std::string_view::npos) reject(event, "more than one '.'");
  if (tag.empty()) reject(event, "the tag after '.' is empty");
  return Event{std::string(type), std::string(tag)};
}

std::string Event::to_string() const { return tag.empty() ? type : type + "." + tag; }

}  // namespace fluid

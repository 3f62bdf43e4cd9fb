#pragma once
// A small checker of the Prometheus text exposition format 0.0.4, strict
// enough to catch what a scraper would reject: sample lines `name{labels}
// value`, HELP/TYPE once per family and before its samples, a family's samples
// together, no repeated series, histograms cumulative with le="+Inf" == _count.

#include <cmath>
#include <cstdlib>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fluid::test {

struct Exposition {
  /// What is wrong with the text, one message per problem (empty: it parses).
  std::vector<std::string> errors;
  /// Every sample, keyed by its series as written: `name{labels}`.
  std::map<std::string, double> samples;
  /// The declared type of each family.
  std::map<std::string, std::string> types;
  /// Families with a HELP line.
  std::set<std::string> helps;

  /// The value of `series` (e.g. `fluid_worker_up{worker="root"}`), if present.
  std::optional<double> value(const std::string& series) const {
    const auto it = samples.find(series);
    return it == samples.end() ? std::nullopt : std::optional(it->second);
  }
};

namespace detail {

inline bool is_name(std::string_view text, bool metric) {
  if (text.empty()) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (metric && c == ':');
    if (!letter && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

inline std::optional<double> parse_number(const std::string& text) {
  static const std::regex number(R"(^[+-]?(Inf|NaN|(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?)$)");
  if (!std::regex_match(text, number)) return std::nullopt;
  if (text.find("Inf") != std::string::npos) return text[0] == '-' ? -INFINITY : INFINITY;
  if (text.find("NaN") != std::string::npos) return NAN;
  return std::strtod(text.c_str(), nullptr);
}

/// Parses `{a="x",b="y"}` starting at `pos` (at '{'); returns the labels and moves `pos` past '}'.
inline std::optional<std::vector<std::pair<std::string, std::string>>> parse_labels(const std::string& line,
                                                                                     std::size_t& pos) {
  std::vector<std::pair<std::string, std::string>> labels;
  ++pos;
  while (pos < line.size() && line[pos] != '}') {
    const auto eq = line.find('=', pos);
    if (eq == std::string::npos) return std::nullopt;
    auto name = line.substr(pos, eq - pos);
    if (!is_name(name, false) || eq + 1 >= line.size() || line[eq + 1] != '"') return std::nullopt;
    std::string value;
    pos = eq + 2;
    for (;; ++pos) {
      if (pos >= line.size()) return std::nullopt;
      const char c = line[pos];
      if (c == '"') break;
      if (c == '\\') {
        if (++pos >= line.size()) return std::nullopt;
        const char e = line[pos];
        if (e == 'n') {
          value += '\n';
        } else if (e == '\\' || e == '"') {
          value += e;
        } else {
          return std::nullopt;
        }
      } else {
        value += c;
      }
    }
    ++pos;  // past the closing quote
    labels.emplace_back(std::move(name), std::move(value));
    if (pos < line.size() && line[pos] == ',') ++pos;
  }
  if (pos >= line.size()) return std::nullopt;
  ++pos;  // past '}'
  return labels;
}

}  // namespace detail

/// Parses and checks `text` (see the file comment).
inline Exposition parse_exposition(const std::string& text) {
  Exposition out;
  auto error = [&](std::size_t line_no, const std::string& what) {
    out.errors.push_back("line " + std::to_string(line_no) + ": " + what);
  };
  if (!text.empty() && text.back() != '\n') out.errors.push_back("the text does not end with a newline");
  std::set<std::string> finished_families;
  std::string current_family;
  std::set<std::string> type_declared_after_samples;
  std::set<std::string> sampled_families;
  // histogram label set (without le) -> (previous bucket value, previous bound, +Inf value)
  struct Histogram {
    double last_count = -1;
    double last_bound = -INFINITY;
    std::optional<double> inf;
    std::optional<double> count;
  };
  std::map<std::string, Histogram> histograms;

  auto family_of = [&](const std::string& name) {
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      const std::string s = suffix;
      if (name.size() > s.size() && name.ends_with(s)) {
        const auto base = name.substr(0, name.size() - s.size());
        if (out.types.contains(base) && out.types[base] == "histogram") return base;
      }
    }
    return name;
  };
  auto enter_family = [&](std::size_t line_no, const std::string& family) {
    if (family == current_family) return;
    if (finished_families.contains(family)) error(line_no, "samples of family " + family + " are not together");
    if (!current_family.empty()) finished_families.insert(current_family);
    current_family = family;
  };

  std::istringstream lines(text);
  std::string line;
  for (std::size_t line_no = 1; std::getline(lines, line); ++line_no) {
    if (line.empty()) continue;
    if (line[0] == '#') {
      std::istringstream words(line);
      std::string hash, keyword, name;
      words >> hash >> keyword >> name;
      if (hash != "#" || (keyword != "HELP" && keyword != "TYPE")) continue;  // a plain comment
      if (!detail::is_name(name, true)) error(line_no, "bad metric name in " + keyword + ": " + name);
      enter_family(line_no, name);
      if (keyword == "HELP") {
        if (!out.helps.insert(name).second) error(line_no, "second HELP for " + name);
      } else {
        std::string type;
        words >> type;
        static const std::set<std::string> types{"counter", "gauge", "histogram", "summary", "untyped"};
        if (!types.contains(type)) error(line_no, "unknown type " + type);
        if (out.types.contains(name)) error(line_no, "second TYPE for " + name);
        if (sampled_families.contains(name)) error(line_no, "TYPE for " + name + " after its samples");
        out.types[name] = type;
      }
      continue;
    }
    std::size_t pos = 0;
    while (pos < line.size() && line[pos] != '{' && line[pos] != ' ') ++pos;
    const auto name = line.substr(0, pos);
    if (!detail::is_name(name, true)) {
      error(line_no, "bad metric name: " + line);
      continue;
    }
    std::vector<std::pair<std::string, std::string>> labels;
    if (pos < line.size() && line[pos] == '{') {
      auto parsed = detail::parse_labels(line, pos);
      if (!parsed) {
        error(line_no, "bad labels: " + line);
        continue;
      }
      labels = std::move(*parsed);
    }
    if (pos >= line.size() || line[pos] != ' ') {
      error(line_no, "no space before the value: " + line);
      continue;
    }
    const auto value_text = line.substr(pos + 1);
    const auto space = value_text.find(' ');  // an optional timestamp follows
    const auto value = detail::parse_number(value_text.substr(0, space));
    if (!value) {
      error(line_no, "bad value: " + line);
      continue;
    }
    const auto series = line.substr(0, pos);
    if (!out.samples.emplace(series, *value).second) error(line_no, "repeated series " + series);
    const auto family = family_of(name);
    enter_family(line_no, family);
    sampled_families.insert(family);
    const auto type = out.types.find(family);
    if (type == out.types.end() || type->second != "histogram") continue;
    std::string key;
    std::optional<std::string> le;
    for (const auto& [label, text_value] : labels) {
      if (label == "le") {
        le = text_value;
      } else {
        key += label + "=" + text_value + ",";
      }
    }
    auto& h = histograms[family + "{" + key + "}"];
    if (name == family + "_bucket") {
      const auto bound = le ? detail::parse_number(*le) : std::nullopt;
      if (!bound) {
        error(line_no, "bucket without a numeric le: " + line);
        continue;
      }
      if (*bound <= h.last_bound) error(line_no, "buckets not in increasing le order: " + line);
      if (*value < h.last_count) error(line_no, "bucket counts not cumulative: " + line);
      h.last_bound = *bound;
      h.last_count = *value;
      if (std::isinf(*bound)) h.inf = *value;
    } else if (name == family + "_count") {
      h.count = *value;
    }
  }
  for (const auto& [series, h] : histograms) {
    if (!h.inf) out.errors.push_back("histogram " + series + " has no le=\"+Inf\" bucket");
    if (!h.count) out.errors.push_back("histogram " + series + " has no _count");
    if (h.inf && h.count && *h.inf != *h.count) out.errors.push_back("histogram " + series + ": +Inf bucket != _count");
  }
  return out;
}

}  // namespace fluid::test

#pragma once
// Writing the Prometheus text format 0.0.4: the one writer behind the tree's
// metrics, the process metrics and the application's registry.

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fluid::detail {

/// A sample's value: integers exactly, others in the shortest form that
/// reads back the same; Prometheus' spelling of the infinities and NaN.
std::string format_value(double value);

/// `{name="value",...}` with the values escaped; "" for no labels.
std::string label_set(const std::vector<std::pair<std::string, std::string>>& labels);

/// Writes metric families: each one's HELP and TYPE lines once, then its samples.
class Exposition {
 public:
  /// The HELP and TYPE lines of `name`, then what `samples` adds.
  void family(std::string_view name, std::string_view type, std::string_view help,
              const std::function<void()>& samples);
  /// `name<labels> value`; `labels` as label_set() makes it.
  void sample(std::string_view name, std::string_view labels, std::string_view value);
  /// Text already in the format (a whole family), appended as it is.
  void append(std::string_view text) { out_ += text; }

  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

}  // namespace fluid::detail

#pragma once
// The generic field options of `task_cli exec` (TASKS.md 2.16.4): what is
// left of its command line once the known options are taken, made a params
// object. No schema is needed: the task's own params parsing judges the result.

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace fluid::detail {

/// `--fail-times 3` and `--fail_times=3` set "fail_times" (dashes become
/// underscores); a value is JSON when it parses as JSON, else a string; a bare
/// `--abort` (last, or before another option) is true. A name repeated takes
/// its last value.
/// @throws FluidError quoting the first token that is not a field option.
nlohmann::json parse_field_options(const std::vector<std::string>& tokens);

/// The params of `exec`: the field options, overridden by the keys of
/// `--params` (aio-fluid: the JSON wins over the options).
/// @throws FluidError if `params_text` is not a JSON object.
nlohmann::json exec_params(const std::vector<std::string>& field_tokens, const std::string& params_text);

}  // namespace fluid::detail

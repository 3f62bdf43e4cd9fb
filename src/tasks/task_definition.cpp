#include "fluid/tasks/task_definition.hpp"

#include "fluid/tasks/errors.hpp"

#include <algorithm>
#include <exception>

namespace fluid {

struct TaskDefinition::Shared {
  std::string name;
  TaskExecutor executor;
  ParamsNormalizer normalize;
  TaskOptions options;
};

namespace {

using nlohmann::json;

constexpr std::size_t max_name_size = 64;

std::string in_quotes(std::string_view text) { return "\"" + std::string(text) + "\""; }

[[noreturn]] void reject_task(const std::string& name, const std::string& why) {
  throw FluidError("task '" + name + "': " + why);
}

void sort_unique(std::vector<std::string>& tags) {
  std::sort(tags.begin(), tags.end());
  tags.erase(std::unique(tags.begin(), tags.end()), tags.end());
}

void check_env(const std::string& name, const TaskOptions& options) {
  if (options.env.empty()) return;
  if (options.execution != Execution::process) {
    reject_task(name, "env is only for Execution::process, and the task's execution is " +
                          std::string(to_string(options.execution)));
  }
  for (const auto& [key, value] : options.env) {
    if (key.empty() || key.find_first_of(std::string_view("=\0", 2)) != std::string::npos) {
      reject_task(name, "env key " + in_quotes(key) + " is not a variable name");
    }
    if (value.find('\0') != std::string::npos) reject_task(name, "env value of " + key + " contains a NUL");
  }
}

void check_options(const std::string& name, const TaskOptions& options) {
  if (options.timeout.count() <= 0) {
    reject_task(name, "timeout must be positive, got " + std::to_string(options.timeout.count()) + "ms");
  }
  if (options.retry) check_retry_policy(*options.retry, "task '" + name + "' retry");
  if (options.rate_limit_retry) check_retry_policy(*options.rate_limit_retry, "task '" + name + "' rate_limit_retry");
  check_env(name, options);
  const bool empty_secret = std::any_of(options.secret_params.begin(), options.secret_params.end(),
                                        [](const std::string& key) { return key.empty(); });
  if (empty_secret) reject_task(name, "secret_params has an empty key");
}

[[noreturn]] void reject_params(const std::string& task, std::string_view reason) {
  throw TaskParamsError("invalid params for task '" + task + "': " + std::string(reason));
}

// Encodes `params` to measure them; a string that is not UTF-8 cannot be
// stored (nor sent to another process) and is rejected here.
void check_encoded_size(const std::string& task, const json& params) {
  std::size_t size = 0;
  try {
    size = params.dump().size();
  } catch (const json::exception&) {
    reject_params(task, "a string is not valid UTF-8");
  }
  if (size > max_params_bytes) {
    reject_params(
        task, std::to_string(size) + " bytes encoded, more than the " + std::to_string(max_params_bytes) + " allowed");
  }
}

// An attempt that fails, when awaited, with what its start threw.
Task<> failed_attempt(std::exception_ptr error) {
  std::rethrow_exception(error);
  co_return;
}

}  // namespace

bool is_valid_task_name(std::string_view name) noexcept {
  if (name.empty() || name.size() > max_name_size || name.front() == '-') return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

namespace detail {

TaskDefinition define_task(std::string name, TaskExecutor executor, ParamsNormalizer normalize, TaskOptions options) {
  if (!is_valid_task_name(name)) {
    throw FluidError("invalid task name " + in_quotes(name) + ": 1 to 64 of [A-Za-z0-9_-], not starting with '-'");
  }
  if (!executor) reject_task(name, "no executor");
  check_options(name, options);
  sort_unique(options.tags);
  return TaskDefinition(std::make_shared<const TaskDefinition::Shared>(
      TaskDefinition::Shared{std::move(name), std::move(executor), std::move(normalize), std::move(options)}));
}

void throw_params_error(std::string_view what, std::string_view field) {
  // nlohmann's messages open with "[json.exception.type_error.302] ".
  if (what.starts_with("[json.exception.")) {
    if (const auto end = what.find("] "); end != std::string_view::npos) what.remove_prefix(end + 2);
  }
  std::string reason = field.empty() ? std::string(what) : "field '" + std::string(field) + "': " + std::string(what);
  throw TaskParamsError(reason);
}

}  // namespace detail

TaskDefinition::TaskDefinition(std::shared_ptr<const Shared> shared) : shared_(std::move(shared)) {}

const std::string& TaskDefinition::name() const noexcept { return shared_->name; }

const TaskOptions& TaskDefinition::options() const noexcept { return shared_->options; }

std::string TaskDefinition::short_description() const {
  constexpr std::string_view blanks = " \t\r\f\v";
  std::string_view rest = shared_->options.description;
  while (!rest.empty()) {
    const auto end = rest.find('\n');
    std::string_view line = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end + 1);
    const auto first = line.find_first_not_of(blanks);
    if (first == std::string_view::npos) continue;
    line = line.substr(first);
    return std::string(line.substr(0, line.find_last_not_of(blanks) + 1));
  }
  return {};
}

bool TaskDefinition::cpu_bound() const noexcept { return shared_->options.execution == Execution::process; }

json TaskDefinition::normalize_params(const json& params) const {
  if (!params.is_object()) reject_params(name(), std::string("expected a JSON object, got ") + params.type_name());
  check_encoded_size(name(), params);
  if (!shared_->normalize) return params;
  json normalized;
  try {
    normalized = shared_->normalize(params);
  } catch (const TaskParamsError& e) {
    reject_params(name(), e.what());
  }
  check_encoded_size(name(), normalized);
  return normalized;
}

// Calling the executor only creates its coroutine, except for a typed task,
// whose params are parsed by that call: `params` is not needed afterwards.
// The coroutine's frame holds a share of the callable (make_task), so the
// attempt needs nothing else of this definition.
Task<> TaskDefinition::execute(TaskContext& ctx, const json& params) const {
  try {
    return shared_->executor(ctx, params);
  } catch (const TaskParamsError& e) {
    return failed_attempt(
        std::make_exception_ptr(TaskParamsError("invalid params for task '" + name() + "': " + e.what())));
  } catch (...) {
    return failed_attempt(std::current_exception());
  }
}

TaskInfo TaskDefinition::info() const {
  const auto& options = shared_->options;
  TaskInfo info;
  info.name = shared_->name;
  info.description = options.description;
  info.short_description = short_description();
  info.module = options.module;
  info.priority = options.priority;
  if (options.schedule) info.schedule = options.schedule->to_string();
  info.tags = options.tags;
  info.max_concurrency = options.max_concurrency;
  info.timeout_seconds = static_cast<double>(options.timeout.count()) / 1000.0;
  info.cpu_bound = cpu_bound();
  return info;
}

TaskDefinition TaskDefinition::with_tags(const std::vector<std::string>& extra) const {
  auto shared = std::make_shared<Shared>(*shared_);
  auto& tags = shared->options.tags;
  tags.insert(tags.end(), extra.begin(), extra.end());
  sort_unique(tags);
  return TaskDefinition(std::move(shared));
}

TaskRun mask_secret_params(TaskRun run, const TaskDefinition& task) {
  if (!run.params.is_object()) return run;
  for (const auto& key : task.options().secret_params) {
    if (const auto it = run.params.find(key); it != run.params.end()) *it = secret_mask;
  }
  return run;
}

}  // namespace fluid

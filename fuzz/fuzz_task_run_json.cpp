// Fuzzes the JSON a run crosses processes with: TaskRun's and TaskInfo's
// from_json, and a typed task's normalize_params (what queue(), the HTTP
// POST and a claiming consumer apply to params). For any JSON input:
// from_json returns a value whose JSON round-trips unchanged, or throws
// fluid::FluidError naming the type; normalize_params returns an object a
// second normalization leaves unchanged, or throws fluid::TaskParamsError
// naming the task. Input that is not JSON is skipped. Anything else
// (another exception, a crash, UB) aborts.

#include <fluid/errors.hpp>
#include <fluid/tasks/errors.hpp>
#include <fluid/tasks/task_definition.hpp>
#include <fluid/tasks/task_run.hpp>

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>

namespace {

using nlohmann::json;

[[noreturn]] void broken(const char* what, std::string_view input) {
  std::fprintf(stderr, "task JSON contract broken: %s (input of %zu bytes)\n", what, input.size());
  std::abort();
}

// aio-fluid's example params: defaults everywhere, one check.
struct Sleep {
  double sleep = 0.1;
  bool error = false;
  bool abort = false;
  std::string note;
  void validate() const {
    if (sleep < 0) throw std::invalid_argument("sleep must be >= 0");
  }
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Sleep, sleep, error, abort, note)

fluid::Task<> nothing(fluid::TaskContext&, const Sleep&) { co_return; }

template <class T>
void round_trip(const json& in, const char* type, std::string_view input) {
  try {
    const json out = in.get<T>();
    if (json(out.get<T>()) != out) broken("to_json(from_json(x)) changes on a second round trip", input);
    if (out.dump(-1, ' ', false, json::error_handler_t::replace).empty()) broken("empty encoding", input);
  } catch (const fluid::FluidError& e) {
    if (std::string_view(e.what()).rfind(type, 0) != 0) broken("the error does not name the type", input);
  } catch (...) {
    broken("an exception other than FluidError from from_json", input);
  }
}

void normalize(const json& in, std::string_view input) {
  static const auto task = fluid::make_task<Sleep>("fast", &nothing);
  try {
    const json normalized = task.normalize_params(in);
    if (!normalized.is_object()) broken("normalized params are not an object", input);
    if (task.normalize_params(normalized) != normalized) broken("normalizing twice changes the params", input);
  } catch (const fluid::TaskParamsError& e) {
    if (std::string_view(e.what()).rfind("invalid params for task 'fast': ", 0) != 0) {
      broken("the error does not name the task", input);
    }
  } catch (...) {
    broken("an exception other than TaskParamsError from normalize_params", input);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const json in = json::parse(input, nullptr, false);
  if (in.is_discarded()) return 0;
  round_trip<fluid::TaskRun>(in, "TaskRun", input);
  round_trip<fluid::TaskInfo>(in, "TaskInfo", input);
  normalize(in, input);
  // The same objects with their fields as a run's params.
  if (in.is_object() && in.contains("params")) normalize(in["params"], input);
  return 0;
}

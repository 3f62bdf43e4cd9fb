#include "service/probes.hpp"

#include "fluid/errors.hpp"
#include "fluid/worker_tree.hpp"
#include "runtime/worker_control.hpp"
#include "service/timed.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <atomic>
#include <memory>

namespace fluid {

std::string_view to_string(Health health) {
  switch (health) {
    case Health::healthy: return "healthy";
    case Health::degraded: return "degraded";
    case Health::unhealthy: return "unhealthy";
  }
  return "unhealthy";
}

namespace detail {

namespace asio = boost::asio;

namespace {

/// Why a worker that should run is not ready; empty if it is.
/// The group's word (ChildStanding) says whether a stopped child is
/// trouble: it is right from the moment the child stops, so a probe sees no
/// blip before the group has answered the stop.
std::string not_ready_because(const TreeWorker& node) {
  auto& worker = *node.worker;
  if (node.standing == ChildStanding::finished) return {};
  if (node.standing == ChildStanding::restarting) return "restarting";
  switch (worker.worker_state()) {
    case WorkerState::init: return "not started";
    case WorkerState::running: return worker.is_ready() ? "" : "starting";
    case WorkerState::stopping: return "stopping";
    default: return worker.stop_reason() == StopReason::failed ? "failed" : "stopped";
  }
}

Task<> store_check(HealthCheck check, std::shared_ptr<CheckResult> out) { *out = co_await check(); }

Task<nlohmann::json> run_check(NamedCheck named, std::chrono::milliseconds timeout) {
  auto result = std::make_shared<CheckResult>();
  const auto race = co_await race_timer(store_check(std::move(named.check), result), timeout);
  if (race.timed_out) {
    *result = {Health::unhealthy, "no answer within " + std::to_string(timeout.count()) + "ms"};
  } else if (race.error) {
    *result = {Health::unhealthy, error_message(race.error)};
  }
  co_return nlohmann::json{{"health", to_string(result->health)}, {"message", result->message}};
}

/// Whether `target`'s executor runs a handler within `timeout`. Not the
/// awaitable || of race_timer(): a post cannot be cancelled, and the race
/// would wait for it on a loop that is stuck. The late handler finds the
/// probe it shares and nothing else.
Task<bool> loop_answers(const asio::any_io_executor& target, std::chrono::milliseconds timeout) {
  struct Probe {
    explicit Probe(const asio::any_io_executor& executor) : timer(executor) {}
    asio::steady_timer timer;
    std::atomic<bool> answered{false};
  };
  auto probe = std::make_shared<Probe>(co_await asio::this_coro::executor);
  probe->timer.expires_after(timeout);
  asio::post(target, [probe] {
    probe->answered = true;
    asio::post(probe->timer.get_executor(), [probe] { probe->timer.cancel(); });  // the timer's own executor
  });
  co_await probe->timer.async_wait(asio::as_tuple(asio::use_awaitable));
  co_return probe->answered.load();
}

}  // namespace

Task<CheckReport> run_checks(std::vector<NamedCheck> checks, std::chrono::milliseconds timeout) {
  CheckReport report;
  for (auto& named : checks) {
    const auto name = named.name;
    auto result = co_await run_check(std::move(named), timeout);
    report.passing = report.passing && result.at("health") != "unhealthy";
    report.results[name] = std::move(result);
  }
  co_return report;
}

Task<HttpResponse> liveness(Worker& target, std::chrono::milliseconds loop_timeout) {
  nlohmann::json failed = nlohmann::json::object();
  const auto tree = worker_tree(target);
  for (const auto& node : tree) {
    if (node.worker->stop_reason() != StopReason::failed || node.group) continue;
    if (node.standing == ChildStanding::restarting) continue;  // answered by a restart
    failed[node.path] = error_message(node.worker->failure());
  }
  if (target.stop_reason() == StopReason::failed && failed.empty()) failed[tree.front().path] = error_message(target.failure());
  std::string loop = "not running";
  bool loop_ok = true;
  if (const auto executor = target.executor()) {
    loop_ok = co_await loop_answers(executor, loop_timeout);
    loop = loop_ok ? "answering" : "not answering within " + std::to_string(loop_timeout.count()) + "ms";
  }
  const bool alive = failed.empty() && loop_ok;
  co_return HttpResponse::json(alive ? 200 : 503, {{"alive", alive},
                                                   {"state", to_string(target.worker_state())},
                                                   {"failed", std::move(failed)},
                                                   {"event_loop", loop}});
}

HttpResponse readiness(Worker& target, const CheckReport& checks) {
  nlohmann::json not_ready = nlohmann::json::object();
  const auto tree = worker_tree(target);
  for (const auto& node : tree) {
    auto why = not_ready_because(node);
    if (!why.empty()) not_ready[node.path] = std::move(why);
  }
  const bool ready = target.is_ready() && not_ready.empty() && checks.passing;
  return HttpResponse::json(ready ? 200 : 503, {{"ready", ready},
                                                {"state", to_string(target.worker_state())},
                                                {"not_ready", std::move(not_ready)},
                                                {"checks", checks.results}});
}

HttpResponse startup(Worker& target) {
  const bool started = WorkerControl(target).has_been_ready();
  return HttpResponse::json(started ? 200 : 503, {{"started", started}, {"state", to_string(target.worker_state())}});
}

}  // namespace detail
}  // namespace fluid

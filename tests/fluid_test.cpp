// The pinned API of WORKERS.md section 1: code outside this repository
// compiles against these names and signatures, all reachable from
// <fluid/fluid.hpp> alone. A change that breaks one fails this file's build.

#include <fluid/fluid.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace {

using namespace std::chrono_literals;
using fluid::Task;
using ms = std::chrono::milliseconds;

// Task, run, sleep.
static_assert(std::is_same_v<Task<int>, boost::asio::awaitable<int>>);
static_assert(std::is_same_v<Task<>, boost::asio::awaitable<void>>);
static_assert(std::is_same_v<decltype(fluid::run(std::declval<Task<int>>())), int>);
static_assert(std::is_same_v<decltype(fluid::run(std::declval<Task<>>())), void>);
static_assert(std::is_same_v<decltype(fluid::sleep(std::chrono::steady_clock::duration{})), Task<>>);

// WorkerState and WorkerOptions.
static_assert(std::is_enum_v<fluid::WorkerState>);
static_assert(std::is_same_v<decltype(fluid::to_string(fluid::WorkerState::force_stopped)), std::string_view>);
static_assert(std::is_same_v<decltype(fluid::WorkerOptions::name), std::string>);
static_assert(std::is_same_v<decltype(fluid::WorkerOptions::stopping_grace_period), std::optional<ms>>);

// Worker: public members, by exact member-function type.
using fluid::Worker;
static_assert(std::is_abstract_v<Worker> && std::has_virtual_destructor_v<Worker>);
static_assert(std::is_same_v<decltype(&Worker::worker_state), fluid::WorkerState (Worker::*)() const noexcept>);
static_assert(std::is_same_v<decltype(&Worker::worker_name), std::string (Worker::*)() const>);
static_assert(std::is_same_v<decltype(&Worker::num_workers), std::size_t (Worker::*)() const>);
static_assert(std::is_same_v<decltype(&Worker::workers), std::vector<Worker*> (Worker::*)()>);
static_assert(std::is_same_v<decltype(&Worker::has_started), bool (Worker::*)() const noexcept>);
static_assert(std::is_same_v<decltype(&Worker::is_running), bool (Worker::*)() const noexcept>);
static_assert(std::is_same_v<decltype(&Worker::is_stopping), bool (Worker::*)() const noexcept>);
static_assert(std::is_same_v<decltype(&Worker::is_stopped), bool (Worker::*)() const noexcept>);
static_assert(std::is_same_v<decltype(&Worker::gracefully_stop), void (Worker::*)()>);
static_assert(std::is_same_v<decltype(&Worker::startup), Task<> (Worker::*)()>);
static_assert(std::is_same_v<decltype(&Worker::shutdown), Task<> (Worker::*)()>);
static_assert(std::is_same_v<decltype(&Worker::wait_for_shutdown), Task<> (Worker::*)()>);
static_assert(std::is_same_v<decltype(&Worker::status), Task<nlohmann::json> (Worker::*)()>);

// The protected hooks, overridden as the sketch declares them.
class SketchWorker final : public Worker {
 public:
  SketchWorker() : Worker(fluid::WorkerOptions{.name = "sketch", .stopping_grace_period = 200ms}) {}
  // A function body: the class is complete there, its overrides declared.
  static constexpr bool hooks_as_sketched() {
    return std::is_same_v<decltype(&SketchWorker::run), Task<> (SketchWorker::*)()> &&
           std::is_same_v<decltype(&SketchWorker::on_startup), Task<> (SketchWorker::*)()> &&
           std::is_same_v<decltype(&SketchWorker::on_shutdown), Task<> (SketchWorker::*)()> &&
           std::is_same_v<decltype(&SketchWorker::after_shutdown), void (SketchWorker::*)(std::string_view, int)>;
  }
  std::string reason;
  int code = -1;

 protected:
  Task<> run() override {
    while (is_running()) co_await fluid::sleep(1ms);
  }
  Task<> on_startup() override { co_return; }
  Task<> on_shutdown() override { co_return; }
  void after_shutdown(std::string_view why, int exit_code) override {
    reason = why;
    code = exit_code;
  }
};
static_assert(SketchWorker::hooks_as_sketched());

// async_with and WorkerFunction.
static_assert(std::is_same_v<decltype(fluid::async_with(std::declval<SketchWorker&>(),
                                                        [](SketchWorker&) -> Task<> { co_return; })),
                             Task<>>);
static_assert(std::is_base_of_v<Worker, fluid::WorkerFunction>);
static_assert(std::is_constructible_v<fluid::WorkerFunction, std::function<Task<>()>>);
static_assert(std::is_constructible_v<fluid::WorkerFunction, std::function<Task<>()>, ms, fluid::WorkerOptions>);

// Queue consumers.
using Consumer = fluid::QueueConsumer<std::string>;
static_assert(std::is_base_of_v<Worker, Consumer> && std::is_abstract_v<Consumer>);
static_assert(std::is_same_v<decltype(&Consumer::send), void (Consumer::*)(std::string)>);
static_assert(std::is_same_v<decltype(std::declval<const Consumer&>().queue_size()), std::size_t>);
static_assert(std::is_same_v<decltype(std::declval<Consumer&>().get_message()), Task<std::optional<std::string>>>);
static_assert(std::is_same_v<decltype(std::declval<Consumer&>().get_message(10ms)), Task<std::optional<std::string>>>);
static_assert(std::is_base_of_v<Consumer, fluid::QueueConsumerWorker<std::string>>);
static_assert(std::is_constructible_v<fluid::QueueConsumerWorker<std::string>, std::function<Task<>(std::string)>,
                                      fluid::WorkerOptions>);
static_assert(std::is_base_of_v<Consumer, fluid::AsyncConsumer<std::string>>);
static_assert(std::is_constructible_v<fluid::AsyncConsumer<std::string>,
                                      std::shared_ptr<fluid::AsyncDispatcher<std::string>>, fluid::WorkerOptions>);

// Groups.
static_assert(std::is_same_v<decltype(fluid::WorkersOptions::name), std::string>);
static_assert(std::is_same_v<decltype(fluid::WorkersOptions::heartbeat), ms>);
static_assert(std::is_same_v<decltype(fluid::WorkersOptions::stopping_grace_period), std::optional<ms>>);
static_assert(std::is_base_of_v<Worker, fluid::Workers> && std::is_default_constructible_v<fluid::Workers>);
static_assert(std::is_constructible_v<fluid::Workers, std::vector<std::shared_ptr<Worker>>, fluid::WorkersOptions>);
static_assert(std::is_same_v<decltype(&fluid::Workers::add_workers), void (fluid::Workers::*)(std::shared_ptr<Worker>)>);

// Events and dispatchers.
static_assert(std::is_same_v<decltype(fluid::Event::type), std::string>);
static_assert(std::is_same_v<decltype(fluid::Event::tag), std::string>);
static_assert(std::is_same_v<decltype(fluid::Event::from_string(std::string_view{})), fluid::Event>);
using SyncHandler = std::function<void(const std::string&)>;
using AsyncHandler = std::function<Task<>(const std::string&)>;
using Sync = fluid::Dispatcher<std::string>;
using Async = fluid::AsyncDispatcher<std::string>;
static_assert(std::is_abstract_v<Sync> && std::has_virtual_destructor_v<Sync>);
static_assert(std::is_same_v<decltype(std::declval<Sync&>().register_handler(std::string_view{}, SyncHandler{})),
                             SyncHandler>);
static_assert(std::is_same_v<decltype(std::declval<Sync&>().unregister_handler(std::string_view{})), SyncHandler>);
static_assert(std::is_same_v<decltype(std::declval<Sync&>().dispatch(std::string{})), std::size_t>);
static_assert(std::is_abstract_v<Async> && std::has_virtual_destructor_v<Async>);
static_assert(std::is_same_v<decltype(std::declval<Async&>().register_handler(std::string_view{}, AsyncHandler{})),
                             AsyncHandler>);
static_assert(std::is_same_v<decltype(std::declval<Async&>().unregister_handler(std::string_view{})), AsyncHandler>);
static_assert(std::is_same_v<decltype(std::declval<Async&>().dispatch(std::string{})), Task<std::size_t>>);

// Errors.
static_assert(std::is_base_of_v<std::runtime_error, fluid::FluidError>);
static_assert(std::is_base_of_v<fluid::FluidError, fluid::WorkerStartError>);
static_assert(std::is_constructible_v<fluid::WorkerStartError, std::string>);

}  // namespace

// The sketch's names, used together as a newcomer would from fluid.hpp alone.
TEST(PinnedApi, AWorkerWrittenAgainstTheSketchRunsAndStopsNormally) {
  SketchWorker worker;
  fluid::run([&]() -> Task<> {
    co_await fluid::async_with(worker, [](SketchWorker& w) -> Task<> {
      EXPECT_TRUE(w.is_running());
      co_await fluid::sleep(5ms);
    });
  }());
  EXPECT_EQ(worker.worker_state(), fluid::WorkerState::stopped);
  EXPECT_EQ(worker.worker_name(), "sketch");
  EXPECT_EQ(worker.reason, "normal shutdown");
  EXPECT_EQ(worker.code, 0);
}

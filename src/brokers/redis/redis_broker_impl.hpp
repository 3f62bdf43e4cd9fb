#pragma once
// The Redis broker's class, shared by its two source files.

#include "brokers/redis/broker_session.hpp"
#include "brokers/redis/script_batch.hpp"
#include "brokers/redis/url.hpp"
#include "fluid/tasks/broker.hpp"

#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace fluid::redis {

class RedisBroker final : public TaskBroker {
 public:
  RedisBroker(RedisUrl redis, std::vector<TaskPriority> queues, std::string url);
  ~RedisBroker() override;
  RedisBroker(const RedisBroker&) = delete;
  RedisBroker& operator=(const RedisBroker&) = delete;

  std::string url() const override { return url_; }
  std::vector<TaskPriority> queues() const override { return queues_; }
  Task<> open() override;
  Task<> close() override;
  Task<TimePoint> now() override;

  Task<> register_tasks(std::vector<TaskRegistration> tasks) override;
  Task<std::vector<TaskInfo>> tasks_info(std::vector<std::string> names) override;
  Task<TaskInfo> set_enabled(std::string task, bool enabled) override;

  Task<std::pair<TaskRun, bool>> enqueue(TaskRun run, std::chrono::milliseconds delay) override;
  Task<ClaimResult> claim(ClaimRequest request) override;
  Task<std::vector<LeaseState>> renew(std::vector<Lease> leases, std::chrono::milliseconds lease) override;
  Task<std::vector<TaskRun>> finish(Lease lease, Outcome outcome) override;
  Task<std::vector<TaskRun>> reap(std::string manager_id) override;
  Task<std::optional<TaskRun>> get_run(std::string run_id) override;
  Task<std::vector<TaskRun>> request_abort(std::string run_id, std::string reason, std::string manager_id) override;

  Task<TimePoint> schedule_anchor(std::string task, TimePoint proposed) override;
  Task<std::optional<TimePoint>> last_slot(std::string task) override;
  Task<std::optional<TaskRun>> fire_slot(std::string task, TimePoint slot, TaskRun run) override;

  Task<std::map<TaskPriority, std::size_t>> queue_length(std::vector<TaskPriority> queues) override;
  Task<std::map<TaskPriority, std::size_t>> clear_queue(std::vector<TaskPriority> queues,
                                                        std::string manager_id) override;
  Task<> set_manager_status(std::string manager_id, nlohmann::json status, std::chrono::milliseconds ttl) override;
  Task<std::vector<nlohmann::json>> manager_statuses() override;
  Task<EventBatch> read_events(std::string after, std::size_t max, std::chrono::milliseconds wait) override;
  /// Decodes only the events `wanted` accepts: a run unpacked costs more
  /// than the rest of the read.
  Task<EventBatch> read_events_if(std::string after, std::size_t max, std::chrono::milliseconds wait,
                                  EventWanted wanted) override;

 private:
  /// What one claim script returned, with the broker's clock when it ran.
  struct ClaimStep {
    ClaimResult result;
    TimePoint broker_now;
  };
  /// Where the feed stands against a cursor.
  struct FeedPosition {
    std::string newest;  ///< the newest event's cursor
    bool gap = false;    ///< retention dropped events after the cursor
  };

  /// The open session, held by the caller for the whole call.
  /// @throws FluidError when not open.
  std::shared_ptr<BrokerSession> session() const;
  Task<> check_data_version(BrokerSession& session);
  Task<> warn_unless_noeviction(BrokerSession& session);
  /// EVALSHA of `script` on the namespace, on the multiplexed connection.
  Task<Reply> script(const RedisScript& script, std::vector<std::string> args, bool idempotent);
  /// A read-only command on the multiplexed connection.
  Task<Reply> command(std::vector<std::string> args);
  std::string retention_ms() const;

  Task<ClaimStep> claim_once(std::vector<std::string> args);
  Task<> wait_for_wake(std::vector<std::string> blpop, std::chrono::milliseconds timeout);
  /// @throws BrokerError for a cursor past the feed.
  Task<FeedPosition> feed_position(std::string after);
  /// XREAD BLOCK's reply: nil when the block timed out.
  Task<Reply> wait_for_events(std::string after, std::size_t max, std::chrono::milliseconds timeout);

  const RedisUrl redis_;
  const std::vector<TaskPriority> queues_;
  const std::string url_;     // password removed
  const std::string prefix_;  // "{name}:": every key of the namespace
  mutable std::mutex mutex_;  // guards session_
  std::shared_ptr<BrokerSession> session_;
  // Concurrent enqueues and finishes go to Redis together (group commit).
  ScriptBatch enqueues_;
  ScriptBatch finishes_;
};

}  // namespace fluid::redis

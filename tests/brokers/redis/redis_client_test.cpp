// The Redis client against a real redis-server of the test's own, through a
// fault proxy where a fault is the point: pipelining, binary safety,
// deadlines, broken and cut connections, restarts, the handshake, scripts,
// cancellation.

#include "brokers/redis/broker_session.hpp"
#include "brokers/redis/client.hpp"
#include "brokers/redis/errors.hpp"
#include "support/fault_proxy.hpp"
#include "support/redis_server.hpp"
#include "support/thrown.hpp"

#include <fluid/detail/notifier.hpp>
#include <fluid/detail/when_all.hpp>
#include <fluid/task.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/system/system_error.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <latch>
#include <thread>

using namespace std::chrono_literals;
using namespace fluid;
using namespace fluid::redis;
using fluid::test::FaultProxy;
using fluid::test::RedisServer;
using fluid::test::RedisServerOptions;
using testing::HasSubstr;
using testing::Not;
namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {

constexpr auto patience = 20s;  // how long a test waits for an event it expects

ClientOptions options_for(const std::string& url) { return {.url = parse_redis_url(url)}; }

// Makes the call in this statement, awaited in the caller's next: the safe
// form for arguments built in place (docs/workers.md, g++ 12).
template <class... Args>
Task<Reply> cmd(RedisClient& client, Args&&... args) {
  std::vector<std::string> command{std::string(std::forward<Args>(args))...};
  return client.call(std::move(command));
}

template <class... Args>
Task<Reply> cmd_with(RedisClient& client, CallOptions options, Args&&... args) {
  std::vector<std::string> command{std::string(std::forward<Args>(args))...};
  return client.call(std::move(command), options);
}

// The message of what `call` throws, checked to be an `Error`.
template <class Error>
Task<std::string> failure_of(Task<Reply> call) {
  try {
    const auto reply = co_await std::move(call);
    ADD_FAILURE() << "expected an error, got " << reply.describe();
  } catch (const Error& e) {
    co_return std::string(e.what());
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected another error type, got: " << e.what();
  }
  co_return std::string();
}

// A call started now that the test awaits (or cancels) later.
struct Pending {
  asio::cancellation_signal cancel;
  detail::Notifier done_changed;
  bool done = false;
  std::exception_ptr error;
  Reply reply;

  void start(const asio::any_io_executor& executor, Task<Reply> call) {
    asio::co_spawn(executor, std::move(call),
                   asio::bind_cancellation_slot(cancel.slot(), [this](std::exception_ptr e, Reply r) {
                     error = e;
                     reply = std::move(r);
                     done = true;
                     done_changed.notify_all();
                   }));
  }
  // Waits for the call to end (a failure of the test if it does not).
  Task<> finish() {
    const auto finished = [this] { return done; };
    const bool ended = co_await done_changed.wait_until(finished, detail::deadline_after(patience));
    EXPECT_TRUE(ended) << "the call did not end within " << patience.count() << "s";
  }
  std::string error_text() const { return fluid::test::message_of(error); }
};

// Starts `call` and returns once the proxy has passed `marker` (a word of
// the command) on to the server.
Task<> start_until_sent(Pending& pending, FaultProxy& proxy, Task<Reply> call, std::string marker) {
  pending.start(co_await asio::this_coro::executor, std::move(call));
  const bool sent = co_await proxy.wait_for_sent(std::move(marker), patience);
  EXPECT_TRUE(sent) << "the command never reached the server";
}

// A port where connections are refused: bound, never listening.
struct RefusingPort {
  asio::io_context io;
  asio::ip::tcp::socket socket{io, asio::ip::tcp::endpoint(asio::ip::address_v4::loopback(), 0)};
  std::uint16_t port() const { return socket.local_endpoint().port(); }
};

Task<> echo_many(RedisClient& client, std::size_t caller, std::size_t calls) {
  for (std::size_t i = 0; i < calls; ++i) {
    const auto payload = "caller " + std::to_string(caller) + " call " + std::to_string(i);
    const auto reply = co_await cmd(client, "ECHO", payload);
    EXPECT_EQ(reply.as_string(), payload);
  }
}

}  // namespace

class RedisClientTest : public testing::Test {
 protected:
  void SetUp() override { FLUID_REQUIRE_REDIS_SERVER(); }
};

TEST_F(RedisClientTest, PipelinesManyConcurrentCallsOnOneConnectionEachAnsweredInOrder) {
  RedisServer server;
  FaultProxy proxy(server.port());
  fluid::run([&]() -> Task<> {
    RedisClient client(co_await asio::this_coro::executor, options_for(proxy.url()));
    co_await client.open();
    constexpr std::size_t callers = 64;
    constexpr std::size_t calls = 200;
    co_await detail::when_all(callers, [&](std::size_t caller) { return echo_many(client, caller, calls); });
    EXPECT_EQ(proxy.connections(), 1u);
    const auto processed = co_await cmd(client, "INFO", "stats");
    EXPECT_THAT(processed.as_string(), HasSubstr("total_commands_processed:"));
  }());
}

TEST_F(RedisClientTest, ArgumentsAndRepliesAreBinarySafe) {
  RedisServer server;
  fluid::run([&]() -> Task<> {
    RedisClient client(co_await asio::this_coro::executor, options_for(server.url()));
    std::string every_byte;
    for (int c = 0; c < 256; ++c) every_byte += static_cast<char>(c);
    const std::string key("key\0with\r\nbreaks", 16);
    co_await cmd(client, "SET", key, every_byte);
    const auto value = co_await cmd(client, "GET", key);
    EXPECT_EQ(value.as_string(), every_byte);
    const auto length = co_await cmd(client, "STRLEN", key);
    EXPECT_EQ(length.as_integer(), 256);
    const auto empty = co_await cmd(client, "ECHO", "");
    EXPECT_EQ(empty, (Reply{.type = Reply::Type::string}));
  }());
}

TEST_F(RedisClientTest, ErrorRepliesAreRedisReplyErrorsCarryingRedisText) {
  RedisServer server;
  fluid::run([&]() -> Task<> {
    RedisClient client(co_await asio::this_coro::executor, options_for(server.url()));
    co_await cmd(client, "SET", "text", "not a number");
    try {
      co_await cmd(client, "INCR", "text");
      ADD_FAILURE() << "INCR of a string succeeded";
    } catch (const RedisReplyError& e) {
      EXPECT_EQ(e.code(), "ERR");
      EXPECT_EQ(e.reply(), "ERR value is not an integer or out of range");
      EXPECT_EQ(std::string(e.what()), server.url() + ": INCR: ERR value is not an integer or out of range");
    }
    // The connection goes on in step.
    const auto after = co_await cmd(client, "GET", "text");
    EXPECT_EQ(after.as_string(), "not a number");
  }());
}

TEST_F(RedisClientTest, DeadlineOnAStalledReplyClosesTheConnectionAndReconnects) {
  RedisServer server;
  FaultProxy proxy(server.port());
  fluid::run([&]() -> Task<> {
    const auto executor = co_await asio::this_coro::executor;
    RedisClient client(executor, options_for(proxy.url("?timeout=0.3")));
    co_await client.open();
    co_await cmd(client, "SET", "b", "kept");
    proxy.stall_replies();
    Pending late, lost, resent;
    late.start(executor, cmd(client, "GET", "a"));
    lost.start(executor, cmd_with(client, {.timeout = 10s}, "INCR", "n"));
    resent.start(executor, cmd_with(client, {.timeout = 10s, .idempotent = true}, "GET", "b"));
    co_await late.finish();
    co_await lost.finish();
    co_await resent.finish();
    EXPECT_THAT(late.error_text(), HasSubstr("no reply to GET within 300ms; connection closed"));
    EXPECT_THAT(lost.error_text(),
                HasSubstr("connection lost before the reply to INCR (no reply to GET within 300ms)"));
    EXPECT_FALSE(resent.error) << resent.error_text();
    EXPECT_EQ(resent.reply.as_string(), "kept");
    EXPECT_EQ(proxy.connections(), 2u);
    const auto pong = co_await cmd(client, "PING");
    EXPECT_EQ(pong.as_string(), "PONG");
  }());
}

TEST_F(RedisClientTest, AReplyCutMidFrameFailsThePendingCallAndTheConnectionRecovers) {
  RedisServer server;
  FaultProxy proxy(server.port());
  fluid::run([&]() -> Task<> {
    RedisClient client(co_await asio::this_coro::executor, options_for(proxy.url()));
    const std::string big(100'000, 'x');
    co_await cmd(client, "SET", "big", big);
    proxy.cut_next_reply(10);  // "$100000\r\nx" and no more
    const auto message = co_await failure_of<BrokerUnavailableError>(cmd(client, "GET", "big"));
    EXPECT_THAT(message, HasSubstr("connection lost before the reply to GET"));
    const auto whole = co_await cmd(client, "GET", "big");
    EXPECT_EQ(whole.as_string(), big);
    EXPECT_EQ(proxy.connections(), 2u);
  }());
}

TEST_F(RedisClientTest, ADroppedConnectionFailsItsCallsAndLaterCallsReconnect) {
  RedisServer server;
  FaultProxy proxy(server.port());
  fluid::run([&]() -> Task<> {
    const auto executor = co_await asio::this_coro::executor;
    RedisClient client(executor, options_for(proxy.url()));
    co_await client.open();
    proxy.stall_replies();
    Pending waiting;
    co_await start_until_sent(waiting, proxy, cmd(client, "INCR", "n"), "INCR");
    proxy.drop_connections();
    co_await waiting.finish();
    EXPECT_THAT(waiting.error_text(), HasSubstr("connection lost before the reply to INCR"));
    const auto counter = co_await cmd(client, "GET", "n");
    EXPECT_EQ(counter.as_string(), "1");  // it ran: the reply, not the command, was lost
  }());
}

TEST_F(RedisClientTest, ServerRestartMidUseRecoversWithItsData) {
  RedisServer server({.appendonly = true});
  fluid::run([&]() -> Task<> {
    const auto executor = co_await asio::this_coro::executor;
    RedisClient client(executor, options_for(server.url()));
    co_await cmd(client, "SET", "k", "persisted");
    server.stop();
    Pending during;
    during.start(executor, cmd_with(client, {.timeout = patience, .idempotent = true}, "GET", "k"));
    server.start();
    co_await during.finish();
    EXPECT_FALSE(during.error) << during.error_text();
    EXPECT_EQ(during.reply.as_string(), "persisted");
    const auto again = co_await cmd(client, "INCR", "after");
    EXPECT_EQ(again.as_integer(), 1);
  }());
}

TEST_F(RedisClientTest, UnreachableAtOpenFailsWithBrokerUnavailableAfterConnectTimeout) {
  RefusingPort nobody;
  fluid::run([&]() -> Task<> {
    const auto url = "redis://127.0.0.1:" + std::to_string(nobody.port()) + "?connect_timeout=0.5";
    RedisClient client(co_await asio::this_coro::executor, options_for(url));
    const auto started = Clock::now();
    std::string message;
    try {
      co_await client.open();
      ADD_FAILURE() << "open() succeeded with nobody listening";
    } catch (const BrokerUnavailableError& e) {
      message = e.what();
    }
    const auto waited = Clock::now() - started;
    EXPECT_THAT(message, HasSubstr(url + ": no connection within 500ms"));
    EXPECT_THAT(message,
                HasSubstr("cannot connect to 127.0.0.1:" + std::to_string(nobody.port()) + ": Connection refused"));
    EXPECT_GE(waited, 500ms);  // it kept trying until connect_timeout
    EXPECT_LT(waited, patience);
  }());
}

TEST_F(RedisClientTest, WrongPasswordIsAClearErrorNotATimeout) {
  RedisServer server({.password = "right-one"});
  fluid::run([&]() -> Task<> {
    const auto executor = co_await asio::this_coro::executor;
    const auto url = "redis://:hunter2@127.0.0.1:" + std::to_string(server.port()) + "?connect_timeout=60";
    RedisClient wrong(executor, options_for(url));
    std::string message;
    try {
      co_await wrong.open();
      ADD_FAILURE() << "open() succeeded with a wrong password";
    } catch (const BrokerUnavailableError& e) {
      ADD_FAILURE() << "a refusal reported as unavailability: " << e.what();
    } catch (const RedisReplyError& e) {
      EXPECT_EQ(e.code(), "WRONGPASS");
      message = e.what();
    }
    EXPECT_THAT(message, HasSubstr("redis://:***@127.0.0.1:" + std::to_string(server.port())));
    EXPECT_THAT(message, HasSubstr("AUTH: WRONGPASS"));
    EXPECT_THAT(message, Not(HasSubstr("hunter2")));

    RedisClient none(executor, options_for("redis://127.0.0.1:" + std::to_string(server.port())));
    const auto refused = co_await failure_of<RedisReplyError>(cmd(none, "PING"));
    EXPECT_THAT(refused, HasSubstr("NOAUTH"));

    RedisClient right(executor, options_for(server.url()));
    const auto pong = co_await cmd(right, "PING");
    EXPECT_EQ(pong.as_string(), "PONG");
  }());
}

TEST_F(RedisClientTest, SelectsTheDatabaseAndNamesTheConnection) {
  RedisServer server;
  fluid::run([&]() -> Task<> {
    const auto executor = co_await asio::this_coro::executor;
    RedisClient client(executor, options_for(server.url("/3?name=fluid-test")));
    const auto info = co_await cmd(client, "CLIENT", "INFO");
    EXPECT_THAT(info.as_string(), HasSubstr("name=fluid-test"));
    EXPECT_THAT(info.as_string(), HasSubstr("db=3"));
    const auto list = co_await cmd(client, "CLIENT", "LIST");
    EXPECT_THAT(list.as_string(), HasSubstr("name=fluid-test"));
    co_await cmd(client, "SET", "where", "three");
    RedisClient zero(executor, options_for(server.url()));
    const auto missing = co_await cmd(zero, "GET", "where");
    EXPECT_TRUE(missing.is_nil());
  }());
}

TEST_F(RedisClientTest, ConnectsThroughAUnixSocket) {
  RedisServer server;
  fluid::run([&]() -> Task<> {
    RedisClient client(co_await asio::this_coro::executor,
                       options_for("unix://" + server.unix_socket() + "?db=2&name=over-unix"));
    const auto info = co_await cmd(client, "CLIENT", "INFO");
    EXPECT_THAT(info.as_string(), HasSubstr("name=over-unix"));
    EXPECT_THAT(info.as_string(), HasSubstr("db=2"));
  }());
}

TEST_F(RedisClientTest, EvalshaReloadsTheScriptAfterScriptFlush) {
  RedisServer server;
  fluid::run([&]() -> Task<> {
    RedisClient client(co_await asio::this_coro::executor, options_for(server.url()));
    const RedisScript increment("return redis.call('INCR', KEYS[1]) + tonumber(ARGV[1])");
    std::vector<std::string> keys{"counter"};
    std::vector<std::string> args{"100"};
    const auto first = co_await client.eval(increment, keys, args);
    EXPECT_EQ(first.as_integer(), 101);
    EXPECT_EQ(increment.sha().size(), 40u);
    co_await cmd(client, "SCRIPT", "FLUSH");
    const auto second = co_await client.eval(increment, keys, args);
    EXPECT_EQ(second.as_integer(), 102);
    const auto stats = co_await cmd(client, "INFO", "commandstats");
    EXPECT_THAT(stats.as_string(), HasSubstr("cmdstat_script|load:calls=2,"));
    EXPECT_THAT(stats.as_string(), HasSubstr("cmdstat_evalsha:calls=3,"));
  }());
}

TEST_F(RedisClientTest, AScriptsOwnErrorIsARedisReplyErrorWithItsCode) {
  RedisServer server;
  fluid::run([&]() -> Task<> {
    RedisClient client(co_await asio::this_coro::executor, options_for(server.url()));
    const RedisScript refuse("return redis.error_reply('LEASE_LOST token 7 is stale')");
    try {
      std::vector<std::string> none;
      co_await client.eval(refuse, none, none);
      ADD_FAILURE() << "the script's error was not raised";
    } catch (const RedisReplyError& e) {
      EXPECT_EQ(e.code(), "LEASE_LOST");
      EXPECT_EQ(e.reply(), "LEASE_LOST token 7 is stale");
    }
  }());
}

TEST_F(RedisClientTest, ACallerCancelledAfterItsCommandWasSentDoesNotDesynchroniseTheFifo) {
  RedisServer server;
  FaultProxy proxy(server.port());
  fluid::run([&]() -> Task<> {
    const auto executor = co_await asio::this_coro::executor;
    RedisClient client(executor, options_for(proxy.url()));
    RedisClient other(executor, options_for(server.url()));
    co_await cmd(client, "SET", "b", "value of b");
    Pending blocked;
    co_await start_until_sent(blocked, proxy, cmd(client, "BLPOP", "list-cancelled", "0"), "list-cancelled");
    Pending behind;
    behind.start(executor, cmd(client, "GET", "b"));
    blocked.cancel.emit(asio::cancellation_type::terminal);
    co_await blocked.finish();
    EXPECT_THAT(blocked.error_text(), HasSubstr("Operation canceled"));
    // The server answers the BLPOP now: that reply must be dropped, not given to GET.
    co_await cmd(other, "LPUSH", "list-cancelled", "x");
    co_await behind.finish();
    EXPECT_FALSE(behind.error) << behind.error_text();
    EXPECT_EQ(behind.reply.as_string(), "value of b");
    const auto next = co_await cmd(client, "ECHO", "in step");
    EXPECT_EQ(next.as_string(), "in step");
    EXPECT_EQ(proxy.connections(), 1u);
  }());
}

TEST_F(RedisClientTest, ACallerCancelledBeforeItsCommandWasSentNeverSendsIt) {
  RedisServer server;
  fluid::run([&]() -> Task<> {
    const auto executor = co_await asio::this_coro::executor;
    RedisClient client(executor, options_for(server.url()));
    // Not connected yet: the INCR waits for the connection, and is taken back.
    Pending cancelled;
    cancelled.start(executor, cmd(client, "INCR", "never"));
    co_await fluid::sleep(0ms);  // one turn of the loop: the spawned call has begun, not connected yet
    cancelled.cancel.emit(asio::cancellation_type::terminal);
    co_await cancelled.finish();
    EXPECT_THAT(cancelled.error_text(), HasSubstr("Operation canceled"));
    const auto value = co_await cmd(client, "GET", "never");
    EXPECT_TRUE(value.is_nil()) << value.describe();
  }());
}

TEST_F(RedisClientTest, ReadonlyReplyReconnectsAndRetriesOnThePromotedServer) {
  RedisServer server;
  FaultProxy proxy(server.port());
  RefusingPort dead_primary;
  fluid::run([&]() -> Task<> {
    const auto executor = co_await asio::this_coro::executor;
    RedisClient client(executor, options_for(proxy.url()));
    RedisClient admin(executor, options_for(server.url()));
    co_await client.open();
    co_await cmd(admin, "REPLICAOF", "127.0.0.1", std::to_string(dead_primary.port()));
    Pending write;
    write.start(executor, cmd_with(client, {.timeout = patience}, "SET", "k", "written"));
    // The SET was refused (READONLY) and the client came back on a new connection.
    const bool reconnected = co_await proxy.wait_for_connections(2, patience);
    EXPECT_TRUE(reconnected);
    co_await cmd(admin, "REPLICAOF", "NO", "ONE");  // the failover completes
    co_await write.finish();
    EXPECT_FALSE(write.error) << write.error_text();
    EXPECT_EQ(write.reply.as_string(), "OK");
    const auto value = co_await cmd(admin, "GET", "k");
    EXPECT_EQ(value.as_string(), "written");
  }());
}

TEST_F(RedisClientTest, ABlockingConnectionServesOneCallAtATimeAndACancelledBlockDropsTheConnection) {
  RedisServer server;
  FaultProxy proxy(server.port());
  fluid::run([&]() -> Task<> {
    const auto executor = co_await asio::this_coro::executor;
    auto options = options_for(proxy.url());
    options.blocking = true;
    RedisClient blocking(executor, options);
    co_await blocking.open();
    Pending block;
    const CallOptions long_block{.timeout = 60s};  // named: no braced temporary across a co_await
    co_await start_until_sent(block, proxy, cmd_with(blocking, long_block, "BLPOP", "nothing-comes", "0"),
                              "nothing-comes");
    const auto second = co_await failure_of<FluidError>(cmd(blocking, "PING"));
    EXPECT_THAT(second, HasSubstr("a blocking connection serves one call at a time"));
    block.cancel.emit(asio::cancellation_type::terminal);
    co_await block.finish();
    // Not stuck behind the abandoned BLPOP: a fresh connection answers.
    const auto pong = co_await cmd(blocking, "PING");
    EXPECT_EQ(pong.as_string(), "PONG");
    EXPECT_EQ(proxy.connections(), 2u);
  }());
}

TEST_F(RedisClientTest, CloseFailsPendingAndLaterCalls) {
  RedisServer server;
  FaultProxy proxy(server.port());
  fluid::run([&]() -> Task<> {
    const auto executor = co_await asio::this_coro::executor;
    RedisClient client(executor, options_for(proxy.url()));
    co_await client.open();
    proxy.stall_replies();
    Pending waiting;
    co_await start_until_sent(waiting, proxy, cmd(client, "GET", "x"), "GET");
    client.close();
    co_await waiting.finish();
    EXPECT_THAT(waiting.error_text(), HasSubstr("client closed"));
    const auto later = co_await failure_of<BrokerUnavailableError>(cmd(client, "PING"));
    EXPECT_THAT(later, HasSubstr("client closed"));
  }());
}

// The broker's shape: the client on an I/O thread of its own, each caller's
// fluid::run a loop that ends (and is destroyed) as soon as its call is
// answered. The answer is posted from the I/O thread, which must be out of
// the caller's loop by then (ThreadSanitizer sees it otherwise).
TEST_F(RedisClientTest, CallsFromShortLoopsOfTheirOwnAreAnsweredWhileEachLoopEndsRightAfter) {
  RedisServer server;
  IoThread io;
  RedisClient client(io.executor(), options_for(server.url()));
  fluid::run(client.open());
  for (int i = 0; i < 50; ++i) {
    const auto payload = "loop " + std::to_string(i);
    EXPECT_EQ(fluid::run(cmd(client, "ECHO", payload)).as_string(), payload);
  }
  client.close();
}

// fluid::run abandons what its main left pending: a call still waiting for
// its reply goes with the loop, like any operation of a destroyed
// io_context, and its reply, when it comes, touches nothing of that loop.
TEST_F(RedisClientTest, ACallLeftPendingByAnEndedLoopEndsWithItAndItsLateReplyTouchesNothing) {
  RedisServer server;
  FaultProxy proxy(server.port());
  IoThread io;
  RedisClient client(io.executor(), options_for(proxy.url()));
  RedisClient other(io.executor(), options_for(server.url()));
  struct Witness {
    bool& ended;
    ~Witness() { ended = true; }
  };
  bool abandoned_call_ended = false;
  const auto abandoned = [&]() -> Task<> {
    const Witness witness{abandoned_call_ended};
    co_await cmd(client, "BLPOP", "left-pending", "0");
    ADD_FAILURE() << "the call resumed a loop that had ended";
  };
  fluid::run([&]() -> Task<> {
    asio::co_spawn(co_await asio::this_coro::executor, abandoned(), asio::detached);
    const bool sent = co_await proxy.wait_for_sent("left-pending", patience);
    EXPECT_TRUE(sent) << "the BLPOP never reached the server";
  }());
  EXPECT_TRUE(abandoned_call_ended) << "the call outlived its loop";
  // Its reply comes now, ahead of the ECHO's on the same connection.
  fluid::run(cmd(other, "LPUSH", "left-pending", "x"));
  EXPECT_EQ(fluid::run(cmd(client, "ECHO", "after")).as_string(), "after");
  client.close();
  other.close();
}

TEST_F(RedisClientTest, CallsFromCoroutinesOnManyThreadsAreAllServed) {
  RedisServer server;
  asio::io_context io(4);
  RedisClient client(io.get_executor(), options_for(server.url()));
  constexpr int callers = 8;
  constexpr int calls = 300;
  std::atomic<int> failures{0};
  std::latch finished(callers);
  for (int i = 0; i < callers; ++i) {
    asio::co_spawn(
        asio::make_strand(io),
        [&]() -> Task<> {
          for (int n = 0; n < calls; ++n) co_await cmd(client, "INCR", "shared");
        },
        [&](std::exception_ptr error) {
          if (error) ++failures;
          finished.count_down();
        });
  }
  std::vector<std::jthread> threads;
  for (int t = 0; t < 4; ++t) threads.emplace_back([&] { io.run(); });
  finished.wait();
  EXPECT_EQ(failures.load(), 0);
  fluid::run([&]() -> Task<> {
    RedisClient reader(co_await asio::this_coro::executor, options_for(server.url()));
    const auto total = co_await cmd(reader, "GET", "shared");
    EXPECT_EQ(total.as_string(), std::to_string(callers * calls));
  }());
  client.close();
  io.stop();
}

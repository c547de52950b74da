// fs.hpp: whole-file functions and tandem::fs::file on the blocking pool, their errors,
// cancellation, and a worker left free while a file operation blocks.
#include <cerrno>
#include <chrono>
#include <coroutine>
#include <cstddef>
#include <cstring>
#include <exception>
#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <tandem/combine.hpp>
#include <tandem/fs.hpp>
#include <tandem/runtime.hpp>
#include <tandem/spawn.hpp>

#include "support/runtimes.hpp"
#include "support/sync_waiting.hpp"
#include "support/temporary_directory.hpp"

namespace {

namespace fs = tandem::fs;
using std::filesystem::path;
using tandem::task;

constexpr std::size_t mebibyte = std::size_t{1} << 20;

using test_support::temporary_directory;

path make_fifo(const path& where) {
  if (::mkfifo(where.c_str(), 0600) != 0) throw std::system_error(errno, std::generic_category(), "mkfifo");
  return where;
}

// Writes to a FIFO that has a reader, straight from the calling thread rather than through
// the blocking pool: what these tests look at is the file, not the pool. Writes this small
// reach the reader whole.
void write_to_fifo(const path& fifo, std::string_view text) {
  const int writer = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  if (writer < 0) throw std::system_error(errno, std::generic_category(), "open the FIFO for writing");
  const ssize_t written = ::write(writer, text.data(), text.size());
  ::close(writer);
  if (written != static_cast<ssize_t>(text.size())) throw std::runtime_error("a short write to the FIFO");
}

// Every byte value, zeros included, in an order that is not a plain count.
std::vector<std::byte> binary_bytes(std::size_t size) {
  std::vector<std::byte> bytes(size);
  for (std::size_t i = 0; i < size; ++i) bytes[i] = static_cast<std::byte>((i * 131 + i / 256) % 256);
  return bytes;
}

template <class T>
task<std::optional<std::system_error>> system_error_of(task<T> operation) {
  try {
    co_await std::move(operation);
  } catch (const std::system_error& e) {
    co_return e;
  }
  co_return std::nullopt;
}

template <class T>
task<std::string> logic_error_of(task<T> operation) {
  try {
    co_await std::move(operation);
  } catch (const std::logic_error& e) {
    co_return e.what();
  }
  co_return "";
}

void expect_error(const std::optional<std::system_error>& error,
                  std::errc code,
                  const std::string& message_start) {
  ASSERT_TRUE(error.has_value()) << "no std::system_error; expected " << message_start;
  EXPECT_EQ(error->code(), std::make_error_code(code)) << error->what();
  EXPECT_EQ(std::string(error->what()).rfind(message_start, 0), 0u) << error->what();
}

task<bool> ready_now() {
  co_return true;
}

class Fs : public ::testing::TestWithParam<test_support::runtime_flavor> {
 protected:
  tandem::runtime rt = test_support::make_runtime(GetParam());
  temporary_directory directory{"tandem-fs-test"};
};

// ---------------------------------------------------------------------------------------------------------------
// Whole files
// ---------------------------------------------------------------------------------------------------------------

task<std::string> write_twice_then_read(path file) {
  co_await fs::write(file, "a first version, longer than the second\n");
  co_await fs::write(file, std::string("second\n"));  // a temporary: write copies it at once
  co_return co_await fs::read_to_string(file);
}

TEST_P(Fs, WriteThenReadToStringRoundTripsAndTruncates) {
  EXPECT_EQ(rt.block_on(write_twice_then_read(directory / "text")), "second\n");
}

task<std::string> write_empty_then_read(path file) {
  co_await fs::write(file, "");
  co_return co_await fs::read_to_string(file);
}

TEST_P(Fs, AnEmptyFileReadsAsEmpty) {
  EXPECT_EQ(rt.block_on(write_empty_then_read(directory / "empty")), "");
}

struct read_back {
  std::vector<std::byte> bytes;
  std::string text;
  std::uintmax_t size = 0;
};

task<read_back> binary_round_trip(path file, std::vector<std::byte> bytes) {
  co_await fs::write(file, bytes);
  read_back back;
  back.bytes = co_await fs::read(file);
  back.text = co_await fs::read_to_string(file);
  back.size = co_await fs::file_size(file);
  co_return back;
}

TEST_P(Fs, OneMebibyteOfBinaryBytesRoundTrips) {
  const std::vector<std::byte> bytes = binary_bytes(mebibyte);
  const read_back back = rt.block_on(binary_round_trip(directory / "binary", bytes));
  EXPECT_TRUE(back.bytes == bytes);
  ASSERT_EQ(back.text.size(), bytes.size());
  EXPECT_EQ(std::memcmp(back.text.data(), bytes.data(), bytes.size()), 0);
  EXPECT_EQ(back.size, mebibyte);
}

task<std::optional<std::system_error>> remove_then_size(path file) {
  co_await fs::write(file, "x");
  co_await fs::remove_file(file);
  co_return co_await system_error_of(fs::file_size(file));
}

TEST_P(Fs, RemoveFileRemoves) {
  const path file = directory / "removed";
  expect_error(rt.block_on(remove_then_size(file)), std::errc::no_such_file_or_directory,
               "tandem::fs::file_size: cannot stat " + file.native());
  EXPECT_FALSE(std::filesystem::exists(file));
}

// ---------------------------------------------------------------------------------------------------------------
// fs::file
// ---------------------------------------------------------------------------------------------------------------

task<std::string> read_write_and_seek(path where) {
  auto created = co_await fs::file::create(where);
  co_await created.write_all("0123456789");
  co_await created.close();

  auto file = co_await fs::file::open(where, fs::open_mode::read_write);
  const std::uint64_t size = co_await file.seek(0, fs::seek_from::end);
  EXPECT_EQ(size, 10u) << "seeking to the end gives the size";
  const std::uint64_t four_before_end = co_await file.seek(-4, fs::seek_from::end);
  EXPECT_EQ(four_before_end, 6u);
  std::string buffer(16, '\0');
  const std::size_t got = co_await file.read(buffer);
  EXPECT_EQ(buffer.substr(0, got), "6789");
  const std::size_t at_end = co_await file.read(buffer);
  EXPECT_EQ(at_end, 0u) << "a read at the end of the file gives 0";
  const std::uint64_t two = co_await file.seek(2, fs::seek_from::start);
  EXPECT_EQ(two, 2u);
  const std::uint64_t five = co_await file.seek(3, fs::seek_from::current);
  EXPECT_EQ(five, 5u);
  co_await file.write_all("ab");  // over 5 and 6, in place
  const std::uint64_t seven = co_await file.seek(0, fs::seek_from::current);
  EXPECT_EQ(seven, 7u);
  co_await file.sync_all();
  co_await file.close();
  co_return co_await fs::read_to_string(where);
}

TEST_P(Fs, OpenReadWriteAndSeek) {
  EXPECT_EQ(rt.block_on(read_write_and_seek(directory / "seek")), "01234ab789");
}

task<std::string> append_after_seeking_to_the_start(path where) {
  auto missing = co_await fs::file::open(where, fs::open_mode::append);  // created
  co_await missing.write_all("ab");
  co_await missing.close();
  auto file = co_await fs::file::open(where, fs::open_mode::append);
  co_await file.seek(0, fs::seek_from::start);
  co_await file.write_all(std::string("cd"));
  co_await file.close();
  co_return co_await fs::read_to_string(where);
}

TEST_P(Fs, AppendModeWritesAtTheEnd) {
  EXPECT_EQ(rt.block_on(append_after_seeking_to_the_start(directory / "log")), "abcd");
}

struct transfers {
  std::size_t first_read = 0;
  std::vector<std::byte> contents;
};

task<transfers> write_all_then_read_big(path where, std::vector<std::byte> bytes) {
  auto writer = co_await fs::file::create(where);
  co_await writer.write_all(bytes);
  co_await writer.close();
  auto reader = co_await fs::file::open(where, fs::open_mode::read);
  transfers result;
  result.contents.resize(bytes.size());
  result.first_read = co_await reader.read(result.contents);
  co_return result;
}

TEST_P(Fs, ReadsAndWritesMoveAtMostTwoMebibytesEach) {
  const std::vector<std::byte> bytes = binary_bytes(5 * mebibyte);
  const transfers result = rt.block_on(write_all_then_read_big(directory / "big", bytes));
  EXPECT_EQ(result.first_read, 2 * mebibyte);
  EXPECT_EQ(std::memcmp(result.contents.data(), bytes.data(), result.first_read), 0);
  EXPECT_EQ(std::filesystem::file_size(directory / "big"), bytes.size()) << "write_all wrote every byte";
}

// ---------------------------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------------------------

TEST_P(Fs, AMissingFileIsENOENTNamingThePath) {
  const path missing = directory / "no-such-file";
  const std::string name = missing.native();
  const auto enoent = std::errc::no_such_file_or_directory;
  expect_error(rt.block_on(system_error_of(fs::read_to_string(missing))), enoent,
               "tandem::fs::read_to_string: cannot open " + name);
  expect_error(rt.block_on(system_error_of(fs::read(missing))), enoent,
               "tandem::fs::read: cannot open " + name);
  expect_error(rt.block_on(system_error_of(fs::file::open(missing, fs::open_mode::read))), enoent,
               "tandem::fs::file::open: cannot open " + name);
  expect_error(rt.block_on(system_error_of(fs::file::open(missing, fs::open_mode::read_write))), enoent,
               "tandem::fs::file::open: cannot open " + name);
  expect_error(rt.block_on(system_error_of(fs::remove_file(missing))), enoent,
               "tandem::fs::remove_file: cannot remove " + name);
  expect_error(rt.block_on(system_error_of(fs::file_size(missing))), enoent,
               "tandem::fs::file_size: cannot stat " + name);
  const std::optional<std::system_error> error = rt.block_on(system_error_of(fs::read_to_string(missing)));
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->code().value(), ENOENT);
  EXPECT_EQ(error->code().category(), std::generic_category());
}

TEST_P(Fs, ADirectoryCannotBeOpenedForWriting) {
  const std::string name = directory.get().native();
  const auto is_a_directory = std::errc::is_a_directory;
  expect_error(rt.block_on(system_error_of(fs::file::open(directory.get(), fs::open_mode::write))),
               is_a_directory, "tandem::fs::file::open: cannot open " + name);
  expect_error(rt.block_on(system_error_of(fs::file::create(directory.get()))), is_a_directory,
               "tandem::fs::file::create: cannot open " + name);
  expect_error(rt.block_on(system_error_of(fs::write(directory.get(), "x"))), is_a_directory,
               "tandem::fs::write: cannot open " + name);
  expect_error(rt.block_on(system_error_of(fs::read_to_string(directory.get()))), is_a_directory,
               "tandem::fs::read_to_string: cannot read " + name);
  expect_error(rt.block_on(system_error_of(fs::file_size(directory.get()))), is_a_directory,
               "tandem::fs::file_size: cannot size " + name);
}

task<std::optional<std::system_error>> seek_before_the_start(path where) {
  co_await fs::write(where, "abc");
  auto file = co_await fs::file::open(where, fs::open_mode::read);
  co_return co_await system_error_of(file.seek(-1, fs::seek_from::start));
}

TEST_P(Fs, SeekingBeforeTheStartIsEINVAL) {
  const path where = directory / "short";
  expect_error(rt.block_on(seek_before_the_start(where)), std::errc::invalid_argument,
               "tandem::fs::file::seek: cannot seek " + where.native());
}

task<std::vector<std::string>> use_after_move_and_close(path where) {
  std::vector<std::string> errors;
  auto file = co_await fs::file::create(where);
  auto moved = std::move(file);
  EXPECT_FALSE(file.is_open());
  EXPECT_TRUE(moved.is_open());
  std::string buffer(4, '\0');
  errors.push_back(co_await logic_error_of(file.read(buffer)));
  co_await moved.close();
  EXPECT_FALSE(moved.is_open());
  co_await moved.close();  // closing again does nothing
  errors.push_back(co_await logic_error_of(moved.write("x")));
  errors.push_back(co_await logic_error_of(moved.seek(0, fs::seek_from::start)));
  co_return errors;
}

TEST_P(Fs, MovedFromAndClosedFilesAreAClearError) {
  EXPECT_EQ(rt.block_on(use_after_move_and_close(directory / "closed")),
            (std::vector<std::string>{"tandem::fs::file::read: the file is closed (or moved from)",
                                      "tandem::fs::file::write: the file is closed (or moved from)",
                                      "tandem::fs::file::seek: the file is closed (or moved from)"}));
}

task<std::string> overlap_two_reads(path fifo) {
  // O_RDWR on a FIFO never waits for a partner; a read waits until something is written.
  auto file = co_await fs::file::open(fifo, fs::open_mode::read_write);
  std::string first(1, '\0');
  std::string second(1, '\0');
  std::string error;
  try {
    co_await tandem::try_join(file.read(first), file.read(second));
  } catch (const std::logic_error& e) {
    error = e.what();
  }
  write_to_fifo(fifo, "x");  // lets the abandoned first read end
  co_await file.close();
  co_return error;
}

TEST_P(Fs, OverlappingOperationsOnOneFileAreAClearError) {
  EXPECT_EQ(
      rt.block_on(overlap_two_reads(make_fifo(directory / "overlap"))),
      "tandem::fs::file::read: another operation on this file has not finished (await each before the next)");
}

// ---------------------------------------------------------------------------------------------------------------
// Cancellation and the worker
// ---------------------------------------------------------------------------------------------------------------

struct after_cancel {
  std::string abandoned_buffer;
  std::string last_read;
};

// Gives an operation that wrongly went ahead the time to show it, then writes.
task<void> write_to_fifo_after_a_while(path fifo, std::string text) {
  for (int i = 0; i < 1'000; ++i) co_await tandem::yield_now();
  write_to_fifo(fifo, text);
}

// A read is abandoned while it waits on the empty FIFO; then a write of "second" through
// the same file must wait for it, until "first" comes from outside for the read to take.
// Had the write gone first, the abandoned read would have taken "secon".
task<after_cancel> abandon_a_read_then_write(path fifo) {
  auto file = co_await fs::file::open(fifo, fs::open_mode::read_write);
  std::string abandoned(5, '-');  // "first" fits exactly
  const auto winner = co_await tandem::select(file.read(abandoned), ready_now());
  EXPECT_EQ(winner.index(), 1u);
  co_await tandem::join(file.write_all("second"), write_to_fifo_after_a_while(fifo, "first"));
  std::string buffer(64, '\0');
  const std::size_t got = co_await file.read(buffer);
  co_return after_cancel{abandoned, buffer.substr(0, got)};
}

TEST_P(Fs, ACancelledReadRunsToItsEndBeforeTheNextOperation) {
  const after_cancel result = rt.block_on(abandon_a_read_then_write(make_fifo(directory / "cancel")));
  EXPECT_EQ(result.last_read, "second") << "the abandoned read took \"first\", before the write went";
  EXPECT_EQ(result.abandoned_buffer, "-----") << "the abandoned read never wrote to the caller's buffer";
}

// The read's open() waits until the FIFO has a writer, and the writer is this task, on
// the same worker: a read blocking the worker would never let it get there. A
// non-blocking open for writing succeeds only once the reader is waiting in open().
task<std::string> read_a_fifo_this_task_writes(path fifo) {
  auto reading = tandem::spawn(fs::read_to_string(fifo));
  int writer = -1;
  while ((writer = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC)) < 0) {
    if (errno != ENXIO) throw std::system_error(errno, std::generic_category(), "open the FIFO for writing");
    co_await tandem::yield_now();
  }
  const bool wrote = ::write(writer, "ping", 4) == 4;
  ::close(writer);
  EXPECT_TRUE(wrote);
  co_return co_await reading;
}

TEST_P(Fs, AWorkerKeepsRunningTasksWhileAFileOperationBlocks) {
  const path fifo = make_fifo(directory / "ping");
  auto read = std::make_shared<std::string>();
  // On a thread of its own, with its own runtime: if the read did block the worker, the
  // test fails after 10 s instead of hanging (that thread is then left behind).
  EXPECT_TRUE(test_support::returns_within(
      [flavor = GetParam(), fifo, read] {
        *read = test_support::make_runtime(flavor).block_on(read_a_fifo_this_task_writes(fifo));
      },
      std::chrono::seconds(10)));
  EXPECT_EQ(*read, "ping");
}

INSTANTIATE_TEST_SUITE_P(AllFlavors, Fs, test_support::all_flavors(), test_support::flavor_name);

// ---------------------------------------------------------------------------------------------------------------
// Many tasks, and no runtime
// ---------------------------------------------------------------------------------------------------------------

std::string contents_of_file(int index) {
  return std::string(static_cast<std::size_t>(index) * 7'919 + 1, static_cast<char>('a' + index));
}

task<bool> read_by_chunks_matches(path where, std::string expected) {
  auto file = co_await fs::file::open(where, fs::open_mode::read);
  std::string whole;
  std::string chunk(4'096, '\0');
  while (const std::size_t got = co_await file.read(chunk)) whole.append(chunk, 0, got);
  co_return whole == expected;
}

task<bool> read_whole_matches(path where, std::string expected) {
  co_return co_await fs::read_to_string(where) == expected;
}

task<int> read_from_many_tasks(path directory, int files, int tasks) {
  for (int i = 0; i < files; ++i) co_await fs::write(directory / std::to_string(i), contents_of_file(i));
  std::vector<tandem::join_handle<bool>> readers;
  for (int t = 0; t < tasks; ++t) {
    const int index = t % files;
    const path where = directory / std::to_string(index);
    readers.push_back(t % 2 == 0 ? tandem::spawn(read_whole_matches(where, contents_of_file(index)))
                                 : tandem::spawn(read_by_chunks_matches(where, contents_of_file(index))));
  }
  int matched = 0;
  for (auto& reader : readers) matched += co_await reader ? 1 : 0;
  co_return matched;
}

TEST(FsConcurrency, ManyTasksReadAtOnce) {
  temporary_directory directory("tandem-fs-test");
  auto rt = tandem::runtime::builder().worker_threads(4).build();
  EXPECT_EQ(rt.block_on(read_from_many_tasks(directory.get(), 8, 64)), 64);
}

// Runs a task on the calling thread, outside any runtime, up to its first suspension.
struct eager_coroutine {
  struct promise_type {
    eager_coroutine get_return_object() noexcept { return {}; }
    std::suspend_never initial_suspend() noexcept { return {}; }
    std::suspend_never final_suspend() noexcept { return {}; }
    void return_void() noexcept {}
    void unhandled_exception() noexcept { std::terminate(); }
  };
};

template <class T>
eager_coroutine catch_logic_error(task<T> operation, std::string& message) {
  try {
    co_await std::move(operation);
  } catch (const std::logic_error& e) {
    message = e.what();
  }
}

TEST(FsOutsideARuntime, ThrowsLogicErrorNamingTheOperation) {
  temporary_directory directory("tandem-fs-test");
  std::string message;
  catch_logic_error(fs::read_to_string(directory / "any"), message);
  EXPECT_EQ(message.rfind("tandem::fs::read_to_string: called outside any runtime", 0), 0u) << message;
  message.clear();
  catch_logic_error(fs::file::open(directory / "any", fs::open_mode::write), message);
  EXPECT_EQ(message.rfind("tandem::fs::file::open: called outside any runtime", 0), 0u) << message;
  EXPECT_FALSE(std::filesystem::exists(directory / "any")) << "nothing ran";
}

}  // namespace

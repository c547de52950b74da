// tandem::fs: files, read and written on the runtime's blocking pool (tokio::fs).
//
//   co_await tandem::fs::write("greeting.txt", "hello\n");          // creates or truncates
//   std::string text = co_await tandem::fs::read_to_string("greeting.txt");
//
//   auto log = co_await tandem::fs::file::open("app.log", tandem::fs::open_mode::append);
//   co_await log.write_all("started\n");
//   co_await log.sync_all();
//
// Blocking: every operation runs its system calls on the blocking pool of the runtime
// the caller runs in (as spawn_blocking does); the awaiting task is suspended meanwhile
// and its worker runs other tasks. A file::read or file::write moves at most 2 MiB per
// call (write_all loops). Outside a runtime, an operation throws std::logic_error when it
// starts.
//
// Exceptions: a failed system call throws std::system_error with the errno value in the
// generic category and a message naming the operation and the path, e.g.
// "tandem::fs::read_to_string: cannot open /no/such/file: No such file or directory".
// Using a closed or moved-from file, or starting an operation on a file while another
// one on it is still awaited, throws std::logic_error.
//
// Cancellation: when the awaiting task is aborted (or its operation loses a select), the
// system call still runs to its end, and what it did stands (bytes written, the file
// position moved, a file created); its result is dropped (bytes read, an opened file,
// which is closed). The data and the descriptor an operation works on belong to the
// operation, so an abandoned one never touches the caller's memory or a reused
// descriptor. The next operation on the same file waits for an abandoned one first, so
// the operations on one file happen one after another, in the order they were started.
//
// Thread safety: the free functions may be called from any task at once. A file is used
// by one task at a time, one operation at a time (await each before starting the next);
// different files, even on the same path, are independent.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tandem/result_handle.hpp"
#include "tandem/sync/oneshot.hpp"
#include "tandem/task.hpp"

namespace tandem::detail {
struct shared_file;
}  // namespace tandem::detail

namespace tandem::fs {

// The whole file at `path` (the string holds its bytes as they are).
task<std::string> read_to_string(std::filesystem::path path);
task<std::vector<std::byte>> read(std::filesystem::path path);

// Creates the file at `path` (permissions 0666 less the umask) or truncates it, then
// writes `contents`. The contents are copied when the call is made, so they need not
// outlive it.
task<void> write(std::filesystem::path path, std::string_view contents);
task<void> write(std::filesystem::path path, std::span<const std::byte> contents);

task<void> remove_file(std::filesystem::path path);

// The size in bytes of the file at `path`; a directory throws (EISDIR).
task<std::uintmax_t> file_size(std::filesystem::path path);

enum class open_mode {
  read,        // an existing file, read-only
  write,       // write-only; created if missing, truncated if present
  append,      // write-only, every write at the end; created if missing
  read_write,  // an existing file, read and written in place
};

enum class seek_from { start, current, end };

// An open file (tokio::fs::File). Owns its descriptor: move-only, closed by the
// destructor (once an abandoned operation on it has finished) or by close().
class file {
 public:
  static task<file> open(std::filesystem::path path, open_mode mode);
  // open(path, open_mode::write).
  static task<file> create(std::filesystem::path path);

  file(file&& other) noexcept;
  file& operator=(file&& other) noexcept;
  file(const file&) = delete;
  file& operator=(const file&) = delete;
  ~file();

  bool is_open() const noexcept { return shared_ != nullptr; }

  // Reads up to min(buffer.size(), 2 MiB) bytes from the file position; 0 at end of file.
  // `buffer` must stay valid until the read completes.
  task<std::size_t> read(std::span<std::byte> buffer);
  task<std::size_t> read(std::span<char> buffer) { return read(std::as_writable_bytes(buffer)); }

  // Writes up to 2 MiB of `data`; returns how many bytes were written. `data` must stay
  // valid until the operation starts (it is copied before the system call).
  task<std::size_t> write(std::span<const std::byte> data);
  task<std::size_t> write(std::string_view data) { return write(std::as_bytes(std::span(data))); }

  // Writes all of `data`, 2 MiB per system call at most.
  task<void> write_all(std::span<const std::byte> data);
  task<void> write_all(std::string_view data) { return write_all(std::as_bytes(std::span(data))); }

  // Moves the file position; returns the new position from the start of the file.
  task<std::uint64_t> seek(std::int64_t offset, seek_from whence);

  // Flushes data and metadata to the device (fsync).
  task<void> sync_all();

  // Closes the descriptor, reporting what close(2) reports; the file is closed even then.
  // Closing a closed file does nothing.
  task<void> close();

 private:
  using outcome = detail::outcome_of<std::uint64_t>;
  class operation_guard;

  explicit file(std::shared_ptr<detail::shared_file> shared) noexcept;

  template <class Call>
  task<std::uint64_t> run_blocking(const char* operation, Call call);
  task<void> wait_for_abandoned_operation();

  std::shared_ptr<detail::shared_file> shared_;
  // The operation last started; still here only when its task was cancelled before it
  // finished.
  std::optional<oneshot_receiver<outcome>> in_flight_;
  bool busy_ = false;  // an operation is being awaited
};

}  // namespace tandem::fs

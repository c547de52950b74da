#include "fs/descriptor.hpp"

#include <cerrno>
#include <string>
#include <system_error>
#include <utility>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace tandem::detail {

namespace {

// A signal landing on a blocking-pool thread must not turn into an error.
template <class Call>
auto retry_on_interrupt(Call call) {
  for (;;) {
    const auto result = call();
    if (result >= 0 || errno != EINTR) return result;
  }
}

}  // namespace

void throw_file_error(int error,
                      const char* operation,
                      const char* action,
                      const std::filesystem::path& path) {
  throw std::system_error(error, std::generic_category(),
                          std::string("tandem::") + operation + ": " + action + " " + path.native());
}

descriptor descriptor::open(std::filesystem::path path, int flags, const char* operation) {
  const int number = retry_on_interrupt([&] { return ::open(path.c_str(), flags | O_CLOEXEC, 0666); });
  if (number < 0) throw_file_error(errno, operation, "cannot open", path);
  return descriptor(number, std::move(path));
}

descriptor::descriptor(descriptor&& other) noexcept
    : number_(std::exchange(other.number_, -1)), path_(std::move(other.path_)) {}

descriptor::~descriptor() {
  if (number_ >= 0) ::close(number_);
}

std::size_t descriptor::read_some(std::span<std::byte> into, const char* operation) const {
  const ssize_t got = retry_on_interrupt([&] { return ::read(number_, into.data(), into.size()); });
  if (got < 0) throw_file_error(errno, operation, "cannot read", path_);
  return static_cast<std::size_t>(got);
}

std::size_t descriptor::write_some(std::span<const std::byte> data, const char* operation) const {
  const ssize_t written = retry_on_interrupt([&] { return ::write(number_, data.data(), data.size()); });
  if (written < 0) throw_file_error(errno, operation, "cannot write", path_);
  return static_cast<std::size_t>(written);
}

void descriptor::write_all(std::span<const std::byte> data, const char* operation) const {
  while (!data.empty()) data = data.subspan(write_some(data, operation));
}

std::uint64_t descriptor::seek(std::int64_t offset, int whence, const char* operation) const {
  const off_t position = ::lseek(number_, offset, whence);
  if (position < 0) throw_file_error(errno, operation, "cannot seek", path_);
  return static_cast<std::uint64_t>(position);
}

void descriptor::sync(const char* operation) const {
  if (retry_on_interrupt([&] { return ::fsync(number_); }) != 0)
    throw_file_error(errno, operation, "cannot sync", path_);
}

std::uint64_t descriptor::size_in_bytes(const char* operation) const {
  struct stat status {};
  if (::fstat(number_, &status) != 0) throw_file_error(errno, operation, "cannot stat", path_);
  return static_cast<std::uint64_t>(status.st_size);
}

void descriptor::close(const char* operation) {
  // Linux frees the descriptor even when close fails, EINTR included, so it is never
  // retried: the number may already belong to a file another thread just opened.
  if (::close(std::exchange(number_, -1)) != 0 && errno != EINTR)
    throw_file_error(errno, operation, "cannot close", path_);
}

}  // namespace tandem::detail

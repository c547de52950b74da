// Helpers shared by the par tests: bounded waiting and thread names.
#pragma once

#include <chrono>
#include <string>
#include <thread>

#include <pthread.h>

namespace test_support {

// Spins (yielding) until pred() holds or `timeout` passes; returns pred()'s last value.
// Keeps every wait bounded: a broken engine fails a test instead of hanging it.
template <class Pred>
bool wait_for(Pred pred, std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return pred();
    std::this_thread::yield();
  }
  return true;
}

// The calling thread's name, as the OS has it.
inline std::string thread_name() {
  char buffer[32] = {};
  pthread_getname_np(pthread_self(), buffer, sizeof buffer);
  return buffer;
}

}  // namespace test_support

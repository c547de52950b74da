// TANDEM_TEST_SANITIZED is defined in builds with AddressSanitizer or ThreadSanitizer,
// for tests that size their work (or skip a timing-sensitive check) by build.
#pragma once

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define TANDEM_TEST_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
#define TANDEM_TEST_SANITIZED 1
#endif
#endif

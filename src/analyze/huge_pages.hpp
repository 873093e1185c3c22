// Transparent huge pages for the analyzer's large regions that are written once, front to back: the
// reserved report store and the flow map's entries (tens of MB on a million-packet capture). Each fresh
// 4 KiB page costs a page fault when first written (a third of a file analysis's CPU time went to the
// kernel that way); with the advice, the kernel may fault in 2 MiB at a time instead. Advice only: where
// transparent huge pages are off (or the range holds no whole 2 MiB page) nothing changes, and the results
// never depend on it. madvise() is in the sandbox's allow list (the allocator's calls).
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <cstdint>

namespace synack::analyze::detail {

/// Advises huge pages for the whole 2 MiB pages inside [data, data + bytes) (an allocation's own pages;
/// untouched ones are not faulted in by it).
inline void advise_huge_pages(const void* data, std::size_t bytes) noexcept {
#ifdef MADV_HUGEPAGE
  constexpr std::uintptr_t kHuge = std::uintptr_t{1} << 21U;
  const auto start = reinterpret_cast<std::uintptr_t>(data);
  const std::uintptr_t first = (start + kHuge - 1) & ~(kHuge - 1);
  const std::uintptr_t last = (start + bytes) & ~(kHuge - 1);
  // NOLINTNEXTLINE(performance-no-int-to-ptr): the page range of our own allocation
  if (last > first) (void)::madvise(reinterpret_cast<void*>(first), last - first, MADV_HUGEPAGE);
#else
  (void)data;
  (void)bytes;
#endif
}

}  // namespace synack::analyze::detail

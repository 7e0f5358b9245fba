// Portability macros and tiny compile-time helpers shared by every layer of the library.
// Macros are used only where the preprocessor is required (host/device annotations, restrict).
#pragma once

#if defined(__CUDACC__)
#define INTERNVL_HOST_DEVICE __host__ __device__
#else
#define INTERNVL_HOST_DEVICE
#endif

#if defined(__GNUC__) || defined(__clang__)
#define INTERNVL_RESTRICT __restrict__
#define INTERNVL_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define INTERNVL_RESTRICT
#define INTERNVL_ALWAYS_INLINE inline
#endif

namespace internvl {

// `static_assert(dependent_false<T>, "...")` in a primary template fires only when it is instantiated.
template <class...>
inline constexpr bool dependent_false = false;

}  // namespace internvl

// Compensated (Kahan) summation in f32 for the CUDA kernels that add up long runs one value at a time
// (means over tokens, pooling bins, channel statistics): the rounding error of each addition is carried
// into the next, so the total stays within a few ulp however many values it holds.
//   CompensatedSum s;  for (...) s.add(v);  s.total()
#pragma once

namespace internvl::cuda {

class CompensatedSum {
 public:
  __device__ void add(float value) {
    const float term = value - lost_;
    const float next = sum_ + term;
    lost_ = (next - sum_) - term;
    sum_ = next;
  }
  __device__ float total() const { return sum_; }

 private:
  float sum_ = 0.0f;
  float lost_ = 0.0f;  // the low-order part that the last addition dropped
};

}  // namespace internvl::cuda

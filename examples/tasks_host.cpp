// The example programs' tasks on the host backends (reference and cpu), compiled once for all of them.
// The task headers declare these instantiations extern, so extract, classify, segment, zero_shot, embed and
// caption each compile only their own arguments, inputs and outputs, not the models again (on 2 cores the five
// programs build in about half the time). The InternVL-C/G tasks need the tokenizer (libsentencepiece):
// INTERNVL_EXAMPLES_TEXT is set where the build has it.
#include "internvl/backend/cpu/all.hpp"
#include "internvl/backend/reference/all.hpp"
#include "support/extract_features.hpp"
#include "support/head_tasks.hpp"
#if INTERNVL_EXAMPLES_TEXT
#include "support/internvl_tasks.hpp"
#endif

namespace internvl::examples {

#define INTERNVL_EXAMPLE_TASKS(Backend)                                                                                \
  template double extract_features(Context<Backend>&, const ExtractRequest&, const PixelBatches&, const FeatureSink&); \
  template void classify(Context<Backend>&, const HeadJob&, const PixelBatches&, const ClassLogitsSink&);              \
  template void segment(Context<Backend>&, const HeadJob&, const ImageSource&, heads::Inference, const LogitsSink&);
INTERNVL_EXAMPLE_TASKS(backend::reference)
INTERNVL_EXAMPLE_TASKS(backend::cpu)
#undef INTERNVL_EXAMPLE_TASKS

#if INTERNVL_EXAMPLES_TEXT
template Embeddings embed(Context<backend::reference>&, const InternVLJob&, const PixelBatches&);
template Embeddings embed(Context<backend::cpu>&, const InternVLJob&, const PixelBatches&);
template void zero_shot(Context<backend::reference>&, const InternVLJob&, const PixelBatches&,
                        const ImageEmbeddingSink&);
template void zero_shot(Context<backend::cpu>&, const InternVLJob&, const PixelBatches&, const ImageEmbeddingSink&);
template void caption(Context<backend::reference>&, const InternVLJob&, const PixelBatches&, const CaptionSink&);
template void caption(Context<backend::cpu>&, const InternVLJob&, const PixelBatches&, const CaptionSink&);
#endif

}  // namespace internvl::examples

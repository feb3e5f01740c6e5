// cuemu's <cuda_pipeline.h> (shadows CUDA's): the primitives only; the C++ pipeline
// classes (nvcuda::experimental::pipeline, memcpy_async) are not emulated.
#pragma once
#include "cuda_pipeline_primitives.h"

/** Element types and their storage: the leaf every other module may import. */

/** Element type of a tensor. `float32` is the default; `float64` is for checking maths. */
export type DType = 'float32' | 'float64';
/** The storage of a tensor of either dtype. */
export type TypedArray = Float32Array | Float64Array;

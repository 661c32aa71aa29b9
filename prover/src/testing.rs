//! Internals that the integration tests, the soundness suite and the benches drive directly, and no
//! production caller needs: the halo2 circuit with a witness (for `MockProver` and mutation), the signed
//! commitments' prover entry, the layout of the private weight columns and the weight commitments' pieces.
//! Not a stable API.

pub use crate::circuit::{InferenceCircuit, StoreTails};
pub use crate::commit::{commit_columns, hiding_rows, random_tails};
pub use crate::proof::{proof_columns, store_columns};
pub use crate::signed_msm::{create_proof_signed, SignedParams};

//! The test circuits prove and verify natively (sanity check of the fixtures themselves).
mod common;

use common::circuit::Shape;

#[test]
fn fixtures_verify_natively() {
    for (lookups, n) in [(false, 3), (true, 3), (true, 100)] {
        let fx = common::build("native", 8, if lookups { Shape::full(0) } else { Shape::simple(0) }, n);
        let cs = fx.vk().cs();
        eprintln!(
            "lookups={lookups} n={n}: proof {} B, advice queries {:?}, fixed queries {:?}, instance queries {:?}, perm columns {:?}, degree {}, blinding {}",
            fx.proof.len(),
            cs.advice_queries(),
            cs.fixed_queries(),
            cs.instance_queries(),
            cs.permutation().get_columns(),
            cs.degree(),
            cs.blinding_factors()
        );
        let mut bad = fx.instances.clone();
        bad[0] += halo2_proofs::halo2curves::bn256::Fr::from(1);
        assert!(!common::verify_native(&fx.params, fx.vk(), &bad, &fx.proof));
    }
}

//! Input files: EZKL's `{"input_data": [[...]]}` (other keys ignored), or a plain array; numbers (integers
//! and floats) and booleans (0 and 1).

use std::path::Path;

use crate::{Error, Result};

/// Reads the flattened input values of `path`; every value must be a finite number. No values at all
/// (`[[]]`) is the input of a model without inputs (EZKL's arange); a model that has inputs refuses it by
/// count.
pub fn read_input(path: &Path) -> Result<Vec<f64>> {
    let v = read_json(path)?;
    let data = input_data(&v, path)?;
    let mut out = Vec::new();
    flatten(data, &mut out).map_err(|m| Error::json(path, format!("input_data: {m}")))?;
    Ok(out)
}

/// How many values each top-level list of `input_data` holds (EZKL's format: one list per graph input);
/// `None` when `input_data` is one flat list of numbers.
pub(crate) fn input_list_lengths(path: &Path) -> Result<Option<Vec<usize>>> {
    let v = read_json(path)?;
    let serde_json::Value::Array(items) = input_data(&v, path)? else { return Ok(None) };
    if !items.iter().all(serde_json::Value::is_array) {
        return Ok(None);
    }
    let mut lengths = Vec::with_capacity(items.len());
    for item in items {
        let mut out = Vec::new();
        flatten(item, &mut out).map_err(|m| Error::json(path, format!("input_data: {m}")))?;
        lengths.push(out.len());
    }
    Ok(Some(lengths))
}

fn read_json(path: &Path) -> Result<serde_json::Value> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    serde_json::from_slice(&bytes).map_err(|e| Error::json(path, e))
}

fn input_data<'v>(v: &'v serde_json::Value, path: &Path) -> Result<&'v serde_json::Value> {
    match v {
        serde_json::Value::Object(o) => o.get("input_data").ok_or_else(|| {
            Error::json(path, "missing `input_data` (EZKL format: {\"input_data\": [[...]]})")
        }),
        arr @ serde_json::Value::Array(_) => Ok(arr),
        _ => Err(Error::json(path, "expected an object with `input_data` or an array of numbers")),
    }
}

fn flatten(v: &serde_json::Value, out: &mut Vec<f64>) -> std::result::Result<(), String> {
    match v {
        serde_json::Value::Array(items) => items.iter().try_for_each(|i| flatten(i, out)),
        serde_json::Value::Number(n) => {
            let x = n.as_f64().ok_or_else(|| format!("value {n} is not representable"))?;
            out.push(x);
            Ok(())
        }
        // Booleans are the integers 0 and 1, as EZKL reads them (ONNX's bool inputs, comparisons' outputs).
        serde_json::Value::Bool(b) => {
            out.push(f64::from(u8::from(*b)));
            Ok(())
        }
        // JSON has no NaN/inf literals; EZKL-style files sometimes carry them as strings.
        serde_json::Value::String(s) => {
            Err(format!("value #{} is a string ({s:?}); NaN/inf are not valid inputs", out.len()))
        }
        other => Err(format!("value #{} is not a number: {other}", out.len())),
    }
}

/// Checks that `values` are finite and quantizes them at `scale`.
pub fn quantize_inputs(values: &[f64], scale: u8) -> Result<Vec<i64>> {
    let s = f64::powi(2.0, i32::from(scale));
    values
        .iter()
        .enumerate()
        .map(|(i, &x)| {
            if !x.is_finite() {
                return Err(Error::InvalidInput(format!("value #{i} is {x}; inputs must be finite")));
            }
            let q = (x * s).round();
            if q.abs() > (1u64 << 52) as f64 {
                return Err(Error::OutOfRange(format!(
                    "input #{i} = {x} is far outside any calibrated range"
                )));
            }
            Ok(q as i64)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booleans_and_integers_read_as_ezkl_does_and_nulls_are_refused() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("input.json");
        std::fs::write(&path, r#"{"input_data": [[true, false, 3, -2.5]]}"#).expect("write");
        assert_eq!(read_input(&path).expect("read"), vec![1.0, 0.0, 3.0, -2.5]);
        std::fs::write(&path, r#"{"input_data": [[1, null]]}"#).expect("write");
        let err = read_input(&path).expect_err("null").to_string();
        assert!(err.contains("value #1 is not a number"), "{err}");
    }
}

//! The sliding-window geometry shared by Conv and the pooling ops in any number of spatial dimensions (1-D,
//! 2-D, 3-D, …): kernel, strides, dilations and explicit pads as ONNX defines them, and for each output
//! position the input positions its window covers.

use tract_onnx::pb::NodeProto;

use super::pool::ndindex;
use super::{attr_ints, invalid};
use crate::Result;

/// A window sliding over `input` spatial dims (`N × C × spatial…` layout, spatial part only).
pub(crate) struct Window {
    pub(crate) kernel: Vec<usize>,
    strides: Vec<usize>,
    dilations: Vec<usize>,
    pads_begin: Vec<usize>,
    input: Vec<usize>,
    /// The output's spatial dims.
    pub(crate) output: Vec<usize>,
}

impl Window {
    /// The window of `node` over the spatial dims `input`, with `kernel` (from the weights for Conv, the
    /// `kernel_shape` attribute for pooling). `strides`, `dilations` default to 1 and `pads` to 0; `auto_pad`
    /// other than NOTSET/VALID and a kernel larger than the padded input are errors naming the node.
    pub(crate) fn of(node: &NodeProto, input: &[usize], kernel: Vec<usize>) -> Result<Self> {
        let d = input.len();
        let auto_pad = node.get_attr_opt::<String>("auto_pad").ok().flatten().unwrap_or_default();
        if !auto_pad.is_empty() && auto_pad != "NOTSET" && auto_pad != "VALID" {
            return Err(invalid(node, format!("auto_pad {auto_pad} is not supported; export explicit pads")));
        }
        let list = |name: &str, len: usize, default: usize| -> Result<Vec<usize>> {
            let v = attr_ints(node, name)?.unwrap_or_else(|| vec![default as i64; len]);
            if v.len() != len || v.iter().any(|&s| s < 0) {
                return Err(invalid(node, format!("{name} must hold {len} non-negative values for {d}-D")));
            }
            Ok(v.into_iter().map(|s| s as usize).collect())
        };
        if kernel.len() != d || kernel.contains(&0) {
            return Err(invalid(node, format!("kernel {kernel:?} does not describe a {d}-D window")));
        }
        let strides = list("strides", d, 1)?;
        let dilations = list("dilations", d, 1)?;
        let pads = list("pads", 2 * d, 0)?;
        if strides.iter().chain(&dilations).any(|&s| s < 1) {
            return Err(invalid(node, "strides and dilations must be at least 1"));
        }
        let mut output = Vec::with_capacity(d);
        for a in 0..d {
            let span = dilations[a] * (kernel[a] - 1) + 1;
            let padded = input[a] + pads[a] + pads[d + a];
            if padded < span {
                return Err(invalid(node, "kernel larger than the padded input"));
            }
            output.push((padded - span) / strides[a] + 1);
        }
        Ok(Self { kernel, strides, dilations, pads_begin: pads[..d].to_vec(), input: input.to_vec(), output })
    }

    /// For every output position (row-major), the kernel taps (row-major) whose input position lies inside
    /// the input, with that position: computed once per layer, shared by every batch entry and channel.
    pub(crate) fn covered(&self) -> Vec<Vec<(Vec<usize>, Vec<usize>)>> {
        let taps = ndindex(&self.kernel);
        ndindex(&self.output)
            .iter()
            .map(|pos| taps.iter().filter_map(|t| self.at(pos, t).map(|at| (t.clone(), at))).collect())
            .collect()
    }

    /// The kernel's number of taps.
    pub(crate) fn taps(&self) -> usize {
        self.kernel.iter().product()
    }

    /// The input position under kernel tap `tap` of the window at output position `out`, or `None` when it
    /// falls in the padding.
    fn at(&self, out: &[usize], tap: &[usize]) -> Option<Vec<usize>> {
        let mut pos = Vec::with_capacity(out.len());
        for a in 0..out.len() {
            let p = (out[a] * self.strides[a] + tap[a] * self.dilations[a]) as isize
                - self.pads_begin[a] as isize;
            if p < 0 || p as usize >= self.input[a] {
                return None;
            }
            pos.push(p as usize);
        }
        Some(pos)
    }
}

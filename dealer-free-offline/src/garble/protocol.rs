//! Garbling a batch of circuit instances between the two parties.

use cryprot_core::Block;
use rand::RngExt;

use super::circuit::Circuit;
use super::halfgates::{evaluate, garble};
use crate::OfflineError;
use crate::cot::{CotReceiver, CotSender};

/// The garbler's side (P0): garbles one instance of `circuit` per row of `inputs` (its
/// `garbler_inputs` bits per instance) and returns its XOR shares of the outputs (one row of
/// `outputs` bits per instance). One OT batch for the evaluator's labels, one message.
pub async fn garble_batch(
    cots: &mut CotSender,
    circuit: &Circuit,
    inputs: &[bool],
) -> Result<Vec<bool>, OfflineError> {
    let instances = inputs.len() / circuit.garbler_inputs.max(1);
    let mut rng = rand::rng();
    let delta = Block::from(rng.random::<u128>()) | Block::ONE;
    let evaluator_zero = cots
        .xor_send(instances * circuit.evaluator_inputs, delta)
        .await?;

    let mut message: Vec<Block> =
        Vec::with_capacity(instances * (circuit.garbler_inputs + 2 * circuit.and_gates()));
    let mut tables = Vec::with_capacity(instances * 2 * circuit.and_gates());
    let mut shares = Vec::with_capacity(instances * circuit.outputs.len());
    let mut gate_id = 0u128;
    for i in 0..instances {
        let mine = &inputs[i * circuit.garbler_inputs..(i + 1) * circuit.garbler_inputs];
        let mut zero: Vec<Block> = (0..circuit.garbler_inputs)
            .map(|_| Block::from(rng.random::<u128>()))
            .collect();
        // The garbler's own inputs travel as their active labels.
        message.extend(
            zero.iter()
                .zip(mine)
                .map(|(&z, &b)| if b { z ^ delta } else { z }),
        );
        zero.extend_from_slice(
            &evaluator_zero[i * circuit.evaluator_inputs..(i + 1) * circuit.evaluator_inputs],
        );
        let wires = garble(circuit, delta, &zero, &mut gate_id, &mut tables);
        // The garbler's share of an output is the colour bit of its zero label.
        shares.extend(circuit.outputs.iter().map(|&o| wires[o].lsb()));
    }
    message.extend(tables);
    cots.channel().send(bytemuck::cast_slice(&message)).await?;
    Ok(shares)
}

/// The evaluator's side (P1): its `evaluator_inputs` bits per instance; returns its XOR
/// shares of the outputs.
pub async fn evaluate_batch(
    cots: &mut CotReceiver,
    circuit: &Circuit,
    inputs: &[bool],
) -> Result<Vec<bool>, OfflineError> {
    let instances = inputs.len() / circuit.evaluator_inputs.max(1);
    let mine = cots.xor_receive(inputs).await?;
    let bytes = cots.channel().recv().await?;
    let expected = instances * (circuit.garbler_inputs + 2 * circuit.and_gates()) * 16;
    if bytes.len() != expected {
        return Err(OfflineError::Peer(format!(
            "garbled circuit of {} bytes, expected {expected}",
            bytes.len()
        )));
    }
    let blocks: Vec<Block> = bytes
        .chunks_exact(16)
        .map(|c| Block::try_from(c).expect("16 bytes"))
        .collect();
    let (garbler_labels, tables) = blocks.split_at(instances * circuit.garbler_inputs);
    let mut shares = Vec::with_capacity(instances * circuit.outputs.len());
    let (mut gate_id, mut next) = (0u128, 0usize);
    for i in 0..instances {
        let mut active =
            garbler_labels[i * circuit.garbler_inputs..(i + 1) * circuit.garbler_inputs].to_vec();
        active.extend_from_slice(
            &mine[i * circuit.evaluator_inputs..(i + 1) * circuit.evaluator_inputs],
        );
        let out = evaluate(circuit, &active, &mut gate_id, tables, &mut next);
        shares.extend(out.iter().map(|w| w.lsb()));
    }
    Ok(shares)
}

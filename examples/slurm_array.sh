#!/bin/bash
# The paper's benchmark as a Slurm job array: 16 shards, at most 8 running at once, one GPU each.
# Each array task runs shard $SLURM_ARRAY_TASK_ID of $SLURM_ARRAY_TASK_COUNT (read by
# `medfm-robust run` from the environment; no --shard needed) into its own records file in the
# shared output folder; a failed or pre-empted task is simply resubmitted and resumes.
# After all tasks: the dependent merge + report job (submit with the line at the bottom).
#
#   sbatch examples/slurm_array.sh
#   sbatch --dependency=afterok:<array job id> --wrap \
#     "medfm-robust merge results/paper --out results/paper-merged && medfm-robust report results/paper-merged"
#
#SBATCH --job-name=medfm-robust
#SBATCH --array=0-15%8
#SBATCH --gres=gpu:1
#SBATCH --cpus-per-task=8
#SBATCH --mem=32G
#SBATCH --time=12:00:00
#SBATCH --output=logs/medfm-robust-%A_%a.out
#SBATCH --requeue

set -euo pipefail
mkdir -p logs results/paper
# Slurm sets SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_COUNT (and SLURM_ARRAY_TASK_MIN for offsets).
exec medfm-robust --quiet --jobs "${SLURM_CPUS_PER_TASK:-8}" run examples/bench.toml --out results/paper

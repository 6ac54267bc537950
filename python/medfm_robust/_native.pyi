"""Type stubs of the compiled extension (python/src/lib.rs). Use the wrappers in medfm_robust."""

from typing import Any, Dict, List, Optional, Tuple

import numpy as np

__version__: str

def catalogue_json(modality: Optional[str] = None) -> str: ...
def apply(
    image: np.ndarray,
    perturbation_id: str,
    strength: float,
    seed: int = 0,
    image_id: int = 0,
    mask: Optional[np.ndarray] = None,
) -> Any: ...
def apply_batch(
    images: List[np.ndarray],
    perturbation_id: str,
    strengths: List[float],
    seed: int = 0,
    image_ids: Optional[List[int]] = None,
) -> List[np.ndarray]: ...
def calibrate(
    image: np.ndarray,
    perturbation_id: str,
    levels: List[int],
    seed: int = 0,
    image_id: int = 0,
    ssim_variant: str = "wang",
    max_evals: int = 20,
) -> List[Dict[str, Any]]: ...
def calibrate_table(
    images: List[np.ndarray],
    perturbation_id: str,
    levels: List[int],
    seed: int = 0,
    image_ids: Optional[List[int]] = None,
    ssim_variant: str = "wang",
    max_evals: int = 20,
) -> Dict[int, Optional[float]]: ...
def produce(
    image: np.ndarray,
    perturbation_id: str,
    level: int,
    seed: int,
    image_id: int,
    ssim_variant: str = "wang",
    strength: Optional[float] = None,
    masks: List[np.ndarray] = ...,
    max_evals: int = 20,
) -> Tuple[np.ndarray, List[np.ndarray], Dict[str, Any]]: ...
def ssim(a: np.ndarray, b: np.ndarray, variant: str = "wang") -> float: ...
def band(level: int) -> Tuple[float, float]: ...
def image_id(relative_path: str) -> int: ...

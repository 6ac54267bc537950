//! Segmentation metrics: IoU and Dice.

//! Raster visualisations: labelled contact sheets (demo, gallery). Text is drawn with the
//! public-domain 8x8 bitmap font of the `font8x8` crate, so no font files or system fonts are needed.

pub mod contact;
pub mod gallery;

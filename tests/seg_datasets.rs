//! Dataset readers on small fake trees in each documented layout, and the mask rule
//! (binarise > 127, 0/1 label masks, JPEG masks thresholded).

use std::path::Path;

use medfm_robust::dataset::{from_dirs, from_manifest, open, read_mask, Layout};
use medfm_robust::perturb::Modality;

fn png(path: &Path, w: u32, h: u32, v: u8) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    image::GrayImage::from_pixel(w, h, image::Luma([v]))
        .save(path)
        .unwrap();
}

#[test]
fn isic2016_pairs_image_with_segmentation_png() {
    let t = tempfile::tempdir().unwrap();
    let r = t.path();
    png(
        &r.join("ISBI2016_ISIC_Part1_Training_Data/ISIC_0000001.jpg"),
        8,
        8,
        100,
    );
    png(
        &r.join("ISBI2016_ISIC_Part1_Training_Data/ISIC_0000002.jpg"),
        8,
        8,
        100,
    );
    png(
        &r.join("ISBI2016_ISIC_Part1_Training_GroundTruth/ISIC_0000001_Segmentation.png"),
        8,
        8,
        255,
    );
    let ds = open(Layout::Isic2016, r, None).unwrap();
    assert_eq!(ds.samples.len(), 2);
    assert_eq!(
        ds.samples[0].mask.as_ref().unwrap().file_name().unwrap(),
        "ISIC_0000001_Segmentation.png"
    );
    assert_eq!(ds.samples[0].modality, Some(Modality::Dermoscopy));
    assert!(
        ds.samples[1].mask.is_none(),
        "an image without a mask is kept and fails at evaluation"
    );
}

#[test]
fn kvasir_jpeg_masks_are_thresholded_at_127() {
    let t = tempfile::tempdir().unwrap();
    let r = t.path().join("Kvasir-SEG");
    png(&r.join("images/cju0abc.jpg"), 16, 16, 80);
    // A JPEG mask: left half 255, right half 0, saved lossy.
    std::fs::create_dir_all(r.join("masks")).unwrap();
    let m = image::GrayImage::from_fn(16, 16, |x, _| image::Luma([if x < 8 { 255 } else { 0 }]));
    m.save(r.join("masks/cju0abc.jpg")).unwrap();
    let ds = open(Layout::Kvasir, t.path(), None).unwrap();
    assert_eq!(ds.samples.len(), 1);
    let mask = read_mask(ds.samples[0].mask.as_ref().unwrap()).unwrap();
    for y in 0..16 {
        for x in 0..16 {
            assert_eq!(mask.data[y * 16 + x], (x < 8) as u8, "({x},{y})");
        }
    }
}

#[test]
fn brain_tumor_and_smdg_layouts() {
    let t = tempfile::tempdir().unwrap();
    let r = t.path();
    png(&r.join("bt/images/1.png"), 4, 4, 10);
    png(&r.join("bt/masks/1.png"), 4, 4, 1); // 0/1 label mask
    let ds = open(Layout::BrainTumor, &r.join("bt"), None).unwrap();
    assert_eq!(ds.samples.len(), 1);
    assert_eq!(
        read_mask(ds.samples[0].mask.as_ref().unwrap())
            .unwrap()
            .count(),
        16,
        "0/1 masks use > 0"
    );

    png(&r.join("smdg/full-fundus/a.png"), 4, 4, 10);
    png(&r.join("smdg/full-fundus/b.png"), 4, 4, 10);
    png(&r.join("smdg/optic-disc/a.png"), 4, 4, 255);
    png(&r.join("smdg/optic-cup/b.png"), 4, 4, 255);
    let disc = open(Layout::SmdgDisc, &r.join("smdg"), None).unwrap();
    let cup = open(Layout::SmdgCup, &r.join("smdg"), None).unwrap();
    assert_eq!(
        disc.samples
            .iter()
            .map(|s| s.id.as_str())
            .collect::<Vec<_>>(),
        ["full-fundus/a.png"]
    );
    assert_eq!(
        cup.samples
            .iter()
            .map(|s| s.id.as_str())
            .collect::<Vec<_>>(),
        ["full-fundus/b.png"]
    );
    let e = open(Layout::Isic2016, &r.join("bt"), None)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("bt") && e.contains("ISIC 2016"),
        "wrong layout is an error naming the folder: {e}"
    );
}

#[test]
fn generic_dirs_and_manifests() {
    let t = tempfile::tempdir().unwrap();
    let r = t.path();
    png(&r.join("images/x.png"), 4, 4, 10);
    png(&r.join("masks/x_mask.png"), 4, 4, 255);
    let ds = from_dirs("d", &r.join("images"), &r.join("masks"), Some(Modality::Us)).unwrap();
    assert_eq!(
        ds.samples[0].mask.as_ref().unwrap().file_name().unwrap(),
        "x_mask.png"
    );

    std::fs::write(
        r.join("m.csv"),
        "image,mask,modality\nimages/x.png,masks/x_mask.png,ct\nimages/x.png,,\n",
    )
    .unwrap();
    let ds = from_manifest("m", &r.join("m.csv")).unwrap();
    assert_eq!(ds.samples.len(), 2);
    assert_eq!(ds.samples[0].image, r.join("images/x.png"));
    assert_eq!(ds.samples[0].modality, Some(Modality::Ct));
    assert!(ds.samples[1].mask.is_none());

    std::fs::write(
        r.join("m.jsonl"),
        "{\"image\":\"images/x.png\",\"mask\":\"masks/x_mask.png\",\"modality\":\"fundus\"}\n",
    )
    .unwrap();
    let ds = from_manifest("m", &r.join("m.jsonl")).unwrap();
    assert_eq!(ds.samples[0].modality, Some(Modality::Oct));
    std::fs::write(r.join("bad.jsonl"), "{\"mask\":1}\n").unwrap();
    let e = from_manifest("m", &r.join("bad.jsonl"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("bad.jsonl:1"), "{e}");
}

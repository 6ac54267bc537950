//! Task readers: OmniMedVQA (file or folder, `modality` key variant, option lists), ROCOv2 CSV with
//! RFC 4180 quoting and JSON Lines, grounding JSON Lines and MeCoVQA-G; seeded selection.

use medfm_robust::eval::vlm::tasks::{self, caption::parse_csv, GroundTruth, ItemKind, Task};
use medfm_robust::perturb::Modality;

#[test]
fn omnimedvqa_items_and_the_modality_key_variant() {
    let dir = tempfile::tempdir().unwrap();
    let qa = dir.path().join("QA_information/Open-access");
    std::fs::create_dir_all(&qa).unwrap();
    std::fs::create_dir_all(dir.path().join("Images/x")).unwrap();
    std::fs::write(dir.path().join("Images/x/1.png"), b"").unwrap();
    std::fs::write(
        qa.join("A.json"),
        r#"[{"question_id": "a1", "question": "Q?", "option_A": "yes", "option_B": "no", "gt_answer": "no",
             "image_path": "${dataset_root_path}/Images/x/1.png", "modality_type": "CT(Computed Tomography)",
             "question_type": "Modality Recognition"}]"#,
    )
    .unwrap();
    std::fs::write(
        qa.join("B.json"),
        r#"[{"question_id": 7, "question": "Q2?", "option_A": "a", "option_B": "b", "option_C": "c", "gt_answer": "C",
             "image_path": "Images/x/1.png", "modality": "Fundus Photography"}]"#,
    )
    .unwrap();
    let items = tasks::read(Task::Vqa, &qa, None).unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0].image, dir.path().join("Images/x/1.png"));
    assert_eq!(
        items[0].relative,
        std::path::PathBuf::from("Images/x/1.png")
    );
    assert_eq!(items[0].modality, Some(Modality::Ct));
    assert_eq!(items[1].modality, Some(Modality::Oct));
    assert_eq!(items[1].id, "7");
    match &items[0].kind {
        ItemKind::Vqa {
            options,
            answer,
            question_type,
            ..
        } => {
            assert_eq!((options.len(), *answer), (2, 1));
            assert_eq!(question_type.as_deref(), Some("Modality Recognition"));
        }
        k => panic!("{k:?}"),
    }
    let ct = tasks::select(items, Some(Modality::Ct), None, 42);
    assert_eq!(ct.len(), 1);
}

#[test]
fn modality_labels_of_omnimedvqa() {
    for (label, m) in [
        ("CT(Computed Tomography)", Modality::Ct),
        ("MR (Mag-netic Resonance Imaging)", Modality::Mri),
        ("X-Ray", Modality::Xray),
        ("Fundus Photography", Modality::Oct),
        ("OCT (Optical Coherence Tomography", Modality::Oct),
        ("Microscopy Images", Modality::Pathology),
        ("Dermoscopy", Modality::Dermoscopy),
        ("Endoscopy", Modality::Endoscopy),
        ("ultrasound", Modality::Us),
    ] {
        assert_eq!(tasks::modality_from_label(label), Some(m), "{label}");
    }
    assert_eq!(
        tasks::modality_from_label("Infrared Reflectance Imaging"),
        None
    );
}

#[test]
fn rocov2_csv_with_quotes_commas_and_newlines() {
    let rows = parse_csv("ID,Caption\r\nR1,\"CT, axial \"\"view\"\"\nsecond line\"\nR2,plain\n");
    assert_eq!(
        rows,
        vec![
            vec!["ID".to_string(), "Caption".to_string()],
            vec![
                "R1".to_string(),
                "CT, axial \"view\"\nsecond line".to_string()
            ],
            vec!["R2".to_string(), "plain".to_string()],
        ]
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("R1.jpg"), b"").unwrap();
    std::fs::write(
        dir.path().join("c.csv"),
        "ID,Caption\nR1,\"a, b\"\nR1,second ref\n",
    )
    .unwrap();
    let items = tasks::read(Task::Caption, &dir.path().join("c.csv"), None).unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].image, dir.path().join("R1.jpg"));
    assert_eq!(
        items[0].kind,
        ItemKind::Caption {
            references: vec!["a, b".into(), "second ref".into()]
        }
    );
    std::fs::write(
        dir.path().join("c.jsonl"),
        "{\"image_id\": \"R1\", \"caption\": \"x\", \"image\": \"R1.jpg\"}\n",
    )
    .unwrap();
    assert_eq!(
        tasks::read(Task::Caption, &dir.path().join("c.jsonl"), None)
            .unwrap()
            .len(),
        1
    );
    assert!(
        tasks::read(Task::Caption, &dir.path().join("d.parquet"), None)
            .unwrap_err()
            .to_string()
            .contains("rocov2_parquet_to_jsonl")
    );
}

#[test]
fn grounding_jsonl_and_mecovqa() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("g.jsonl"),
        "{\"id\": \"a\", \"image\": \"i.png\", \"question\": \"Where?\", \"box\": [1, 2, 3, 4]}\n\
         {\"image\": \"i.png\", \"question\": \"Where 2?\", \"mask\": \"m.png\"}\n",
    )
    .unwrap();
    let items = tasks::read(
        Task::Grounding,
        &dir.path().join("g.jsonl"),
        Some(dir.path()),
    )
    .unwrap();
    assert_eq!(
        items[0].kind,
        ItemKind::Grounding {
            question: "Where?".into(),
            truth: GroundTruth::Box([1.0, 2.0, 3.0, 4.0])
        }
    );
    assert_eq!(
        items[1].kind,
        ItemKind::Grounding {
            question: "Where 2?".into(),
            truth: GroundTruth::Mask(dir.path().join("m.png"))
        }
    );
    std::fs::write(
        dir.path().join("m.json"),
        r#"[{"id": "x", "image": "ct/1.png", "conversations": [{"from": "human", "value": "<image>\nFind the kidney."},
            {"from": "gpt", "value": "Here: <SEG> <mask>masks/1_kidney.png</mask>"}]}]"#,
    )
    .unwrap();
    let items = tasks::read(
        Task::Grounding,
        &dir.path().join("m.json"),
        Some(dir.path()),
    )
    .unwrap();
    assert_eq!(
        items[0].kind,
        ItemKind::Grounding {
            question: "Find the kidney.".into(),
            truth: GroundTruth::Mask(dir.path().join("masks/1_kidney.png"))
        }
    );
}

#[test]
fn limit_draws_the_python_sample_in_its_order() {
    let dir = tempfile::tempdir().unwrap();
    let lines: String = (0..10)
        .map(|i| format!("{{\"image_id\": \"r{i}\", \"caption\": \"c\"}}\n"))
        .collect();
    std::fs::write(dir.path().join("c.jsonl"), lines).unwrap();
    let items = tasks::read(Task::Caption, &dir.path().join("c.jsonl"), None).unwrap();
    let picked: Vec<String> = tasks::select(items.clone(), None, Some(3), 42)
        .into_iter()
        .map(|i| i.id)
        .collect();
    // random.seed(42); random.sample(range(10), 3) == [1, 0, 4]
    assert_eq!(picked, vec!["r1", "r0", "r4"]);
    assert_eq!(tasks::select(items, None, Some(50), 42).len(), 10);
}

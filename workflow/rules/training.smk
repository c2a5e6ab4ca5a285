# Training dynamics (Fig. 7, 8): every listed epoch of a training run is a model of the pipeline,
# <name>-epoch<e>, scored by extract_activations, sample_tasks and compute_mis like any other
# (TRAINING, TRAINING_EPOCHS, TRAINING_DIR and training_checkpoint come from common.smk). Without a
# `training` block in the config these rules are not defined and not part of `all`.

if TRAINING:
    TRAINING_LABEL = TRAINING.get("label", TRAINING["name"])

    if "train" in TRAINING:

        rule train_model:
            """Train the architecture on classes of the image set; a checkpoint and the validation
            top-1 accuracy at every listed epoch (epoch 0 = the seeded initialisation)."""
            input:
                manifest=rules.prepare_images.output.manifest,
            output:
                checkpoints=[training_checkpoint(epoch) for epoch in TRAINING["epochs"]],
                accuracy=f"{TRAINING_DIR}/accuracy.csv",
                split=f"{TRAINING_DIR}/split.csv",
            log:
                f"logs/train_model/{TRAINING['name']}.log",
            conda:
                "../../envs/torch.yaml"
            threads: 2
            resources:
                mem_mb=per_attempt(4000),
                runtime=per_attempt(60),
                gpu=GPUS,
            params:
                architecture=TRAINING["architecture"],
                train=TRAINING["train"],
                epochs=TRAINING["epochs"],
                seed=config["seed"],
                images_root=config["images"]["root"],
                device=config["device"],
            script:
                "../scripts/train_model.py"

    rule summarize_training:
        """MIS per epoch (Fig. 3's statistics, with the epoch's top-1 accuracy) and per layer and
        epoch with its change since the previous epoch; kept apart from results/mis/models.csv."""
        input:
            units=expand(rules.compute_mis.output.units, model=list(TRAINING_EPOCHS)),
            accuracy=rules.train_model.output.accuracy if "train" in TRAINING else TRAINING["checkpoints"]["accuracy"],
        output:
            epochs=f"{TRAINING_DIR}/mis_per_epoch.csv",
            layers=f"{TRAINING_DIR}/mis_per_layer.csv",
        log:
            f"logs/summarize_training/{TRAINING['name']}.log",
        conda:
            "../../envs/plots.yaml"
        params:
            epochs=TRAINING_EPOCHS,
        script:
            "../scripts/summarize_training.py"

    rule plot_fig7:
        """Fig. 7: MIS per epoch with the 5th–95th percentile band, and MIS vs top-1 accuracy."""
        input:
            epochs=rules.summarize_training.output.epochs,
        output:
            figure=report("figures/fig7.pdf", category="Figures", caption="../report/fig7.rst"),
        log:
            "logs/plot_fig7.log",
        conda:
            "../../envs/plots.yaml"
        params:
            label=TRAINING_LABEL,
            similarity_label=config["similarity"]["label"],
        script:
            "../scripts/plot_fig7.py"

    rule plot_fig8:
        """Fig. 8: per-layer change of MIS in the first epoch vs relative depth; appendix: every epoch."""
        input:
            layers=rules.summarize_training.output.layers,
        output:
            first_epoch=report("figures/fig8.pdf", category="Figures", caption="../report/fig8.rst"),
            all_epochs=report("figures/fig8_all_epochs.pdf", category="Figures", caption="../report/fig8.rst"),
        log:
            "logs/plot_fig8.log",
        conda:
            "../../envs/plots.yaml"
        params:
            label=TRAINING_LABEL,
            similarity_label=config["similarity"]["label"],
        script:
            "../scripts/plot_fig8.py"

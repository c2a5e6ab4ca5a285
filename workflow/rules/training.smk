# Training dynamics (Fig. 7, 8): every listed epoch of a training run is a model of the pipeline,
# <name>-epoch<e>, scored by extract_activations, sample_tasks and compute_mis like any other
# (TRAINING, TRAINING_EPOCHS and training_checkpoint come from common.smk). Without a
# `training` block in the config these rules are not defined and not part of `all`.

if TRAINING:
    # The accuracies of a user's checkpoints (config training.checkpoints.accuracy): an asset.
    USER_ACCURACY = None if TRAINING.train else TRAINING.checkpoints["accuracy"]

    if TRAINING.train:

        rule train_model:
            """Train the architecture on classes of the image set; a checkpoint and the validation
            top-1 accuracy at every listed epoch (epoch 0 = the seeded initialisation)."""
            input:
                manifest=rules.prepare_images.output.manifest,
            output:
                checkpoints=[training_checkpoint(epoch) for epoch in TRAINING.epochs],
                accuracy=paths.TRAINING_ACCURACY.format(run=TRAINING.name),
                split=paths.TRAINING_SPLIT.format(run=TRAINING.name),
            log:
                paths.log("train_model", TRAINING.name),
            conda:
                "../../envs/torch.yaml"
            threads: SETTINGS.threads.training
            resources:
                mem_mb=per_attempt(4000),
                runtime=per_attempt(60),
                gpu=GPUS,
            params:
                training=TRAINING.params(),
                threads=SETTINGS.threads.training,  # exactly, even above --cores: part of the result
                images_root=IMAGES_ROOT,
                assets=[
                    declare_weights(
                        "training.train",
                        {**training_model_spec(0), "weights": {"source": "random"}},
                        "training.architecture",
                    )
                ],
                run=job_run(),
            script:
                "../scripts/train_model.py"

    localrules:
        analyze_training,

    rule analyze_training:
        """The tables of Figs. 7 and 8: MIS per epoch (Fig. 3's statistics, with the epoch's top-1
        accuracy, and their Spearman correlation), and per layer and epoch with its change since the
        previous epoch (and the first epoch's change against depth); kept apart from
        results/mis/models.csv."""
        input:
            units=expand(rules.compute_mis.output.units, model=list(TRAINING_EPOCHS)),
            accuracy=[rules.train_model.output.accuracy] if TRAINING.train else [],
        output:
            epochs=paths.analysis("fig7"),
            correlation=paths.analysis("fig7_correlation"),
            layers=paths.analysis("fig8"),
            depth=paths.analysis("fig8_first_epoch"),
        log:
            paths.log("analyze_training"),
        conda:
            "../../envs/analysis.yaml"
        params:
            epochs=TRAINING_EPOCHS,
            user_accuracy=USER_ACCURACY,
            assets=(
                []
                if TRAINING.train
                else [
                    declare_file(
                        "training.checkpoints.accuracy",
                        USER_ACCURACY,
                        "per-epoch accuracy CSV (columns epoch, top1)",
                        "put it there, or set training.checkpoints.accuracy",
                    )
                ]
            ),
        script:
            "../scripts/analyze_training.py"

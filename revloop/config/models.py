"""config/models.yml: snapshots, label definitions, estimators and promotion rule of the predictive models."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from revloop.config import cached

TaskName = Literal["churn", "purchase", "engagement"]
TASKS: tuple[TaskName, ...] = ("churn", "purchase", "engagement")
Estimator = Literal["hist_gradient_boosting", "logistic_regression"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SnapshotsConfig(_Strict):
    """The as-of dates of marts.ml_features: `count` dates, `spacing_days` apart, back from the data's end."""

    spacing_days: int = Field(30, ge=1, le=366)
    count: int = Field(12, ge=2, le=120)
    holdout_snapshots: int = Field(1, ge=1)


class EngagementConfig(_Strict):
    """What counts as meaningful engagement, and the windows of the engagement features."""

    passive_events: list[str] = ["Email Opened", "Ad Impression"]
    recent_days: int = Field(30, ge=1, le=366)
    history_days: int = Field(90, ge=1, le=731)

    @model_validator(mode="after")
    def _history_covers_recent(self) -> "EngagementConfig":
        if self.history_days < 2 * self.recent_days:
            raise ValueError(
                "history_days must be at least twice recent_days (the trend compares two windows)"
            )
        return self


class TaskConfig(_Strict):
    """One model: its label window and estimator."""

    horizon_days: int = Field(ge=1, le=731)
    estimator: Estimator = "hist_gradient_boosting"


class ChurnConfig(TaskConfig):
    """Churn: no purchase and fewer than min_engagement_events meaningful interactions in the horizon."""

    horizon_days: int = Field(90, ge=1, le=731)
    min_engagement_events: int = Field(1, ge=1)


class PurchaseConfig(TaskConfig):
    """Purchase: an order or a closed-won deal in the horizon."""

    horizon_days: int = Field(60, ge=1, le=731)


class EngagementTaskConfig(TaskConfig):
    """Engagement potential: above-median meaningful interactions in the horizon."""

    horizon_days: int = Field(30, ge=1, le=731)


class TasksConfig(_Strict):
    churn: ChurnConfig = ChurnConfig()
    purchase: PurchaseConfig = PurchaseConfig()
    engagement: EngagementTaskConfig = EngagementTaskConfig()

    def of(self, task: TaskName) -> TaskConfig:
        """The config of one task by name."""
        return getattr(self, task)


class TrainingConfig(_Strict):
    calibration: Literal["sigmoid", "isotonic"] = "isotonic"
    random_seed: int = 7
    min_training_rows: int = Field(50, ge=10)
    min_class_examples: int = Field(10, ge=2)
    max_training_rows: int = Field(500_000, ge=1000)
    top_features: int = Field(10, ge=1, le=100)
    threads: int = Field(1, ge=1, le=256)


class PromotionConfig(_Strict):
    min_auc_gain: float = Field(0.0, ge=0.0, le=1.0)


class ModelsConfig(_Strict):
    """The whole of config/models.yml."""

    snapshots: SnapshotsConfig = SnapshotsConfig()
    engagement: EngagementConfig = EngagementConfig()
    tasks: TasksConfig = TasksConfig()
    training: TrainingConfig = TrainingConfig()
    promotion: PromotionConfig = PromotionConfig()

    @model_validator(mode="after")
    def _room_for_a_holdout(self) -> "ModelsConfig":
        spacing, holdout = self.snapshots.spacing_days, self.snapshots.holdout_snapshots
        for task in TASKS:
            horizon = self.tasks.of(task).horizon_days
            unlabelled = -(-horizon // spacing)  # the newest snapshots, whose label window has not passed
            # then the holdout, then as many again before a training label window ends before the holdout
            needed = 2 * unlabelled + holdout
            if self.snapshots.count < needed:
                raise ValueError(
                    f"snapshots.count must be at least {needed} for the {horizon}-day {task} horizon every "
                    f"{spacing} days (scored, unlabelled, holdout, purge gap and training snapshots)"
                )
        return self


def load_models_config() -> ModelsConfig:
    """config/models.yml of the config folder, validated (cached per process and folder)."""
    return cached("models", ModelsConfig)

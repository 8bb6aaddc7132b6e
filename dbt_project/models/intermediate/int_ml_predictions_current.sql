{#- The latest scores of each profile, one column per task: the rows of each task's most recent scoring run
    in ml.predictions (a newer model version replaces an older one as soon as it has scored). Profiles a task
    does not score (churn: never bought) have a null there. -#}

with predictions as (
    {{ source_or_empty('ml', 'predictions', {
        'profile_id': 'string', 'task': 'string', 'model_version': 'string', 'score': 'float',
        'as_of_date': 'date', 'scored_at': 'timestamp',
    }) }}
),

latest_runs as (
    select task, max(scored_at) as scored_at
    from predictions
    group by task
),

current_scores as (
    select predictions.*
    from predictions
    inner join latest_runs
        on latest_runs.task = predictions.task and latest_runs.scored_at = predictions.scored_at
)

select
    profile_id,
    max(case when task = 'churn' then score end) as churn_risk,
    max(case when task = 'purchase' then score end) as purchase_likelihood,
    max(case when task = 'engagement' then score end) as engagement_potential,
    max(case when task = 'churn' then model_version end) as churn_model_version,
    max(case when task = 'purchase' then model_version end) as purchase_model_version,
    max(case when task = 'engagement' then model_version end) as engagement_model_version,
    max(scored_at) as scored_at
from current_scores
group by profile_id

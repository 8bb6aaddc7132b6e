{#- The rules the rows of a model keep, checked in one scan of it: one result row per broken rule, with the
    number of rows that break it (the test's failures are their sum). Each rule means what the test of the
    same name means: not_null; unique (nulls pass); unique_combinations: lists of columns no two rows share
    (unique_combination_of_columns); accepted_range (bounds inclusive; nulls pass); accepted_values (nulls
    pass); is_trimmed; not_empty_string; expressions: SQL that every row makes true, or {column, expression}:
    checked only where that column is not null (expression_is_true). -#}
{% test row_rules(model, not_null=[], unique=[], unique_combinations=[], accepted_range={}, accepted_values={},
                  is_trimmed=[], not_empty_string=[], expressions=[]) %}
{{ config(fail_calc="coalesce(sum(failing_rows), 0)") }}
{#- rules: (label, the count of rows breaking it); breaking: (label, when a row breaks it), counted below -#}
{%- set rules, breaking = [], [] -%}
{%- for column in unique -%}
    {%- do rules.append((column ~ " is unique", "count(" ~ column ~ ") - count(distinct " ~ column ~ ")")) -%}
{%- endfor -%}
{%- for columns in unique_combinations -%}
    {%- do rules.append(("no two rows share (" ~ columns | join(", ") ~ ")",
                         "count(*) - count(distinct (" ~ columns | join(", ") ~ "))")) -%}
{%- endfor -%}
{%- for column in not_null -%}
    {%- do breaking.append((column ~ " is never null", column ~ " is null")) -%}
{%- endfor -%}
{%- for column, bounds in accepted_range.items() -%}
    {%- set low, high = bounds.get("min_value"), bounds.get("max_value") -%}
    {%- set outside, within = [], [] -%}
    {%- if low is not none -%}
        {%- do outside.append(column ~ " < " ~ low) -%}
        {%- do within.append("at least " ~ low) -%}
    {%- endif -%}
    {%- if high is not none -%}
        {%- do outside.append(column ~ " > " ~ high) -%}
        {%- do within.append("at most " ~ high) -%}
    {%- endif -%}
    {%- if not outside -%}
        {{ exceptions.raise_compiler_error("row_rules accepted_range of " ~ column ~ ": give min_value, max_value or both") }}
    {%- endif -%}
    {%- do breaking.append((column ~ " is " ~ within | join(" and "),
                         column ~ " is not null and (" ~ outside | join(" or ") ~ ")")) -%}
{%- endfor -%}
{%- for column, values in accepted_values.items() -%}
    {%- set listed = [] -%}
    {%- for value in values -%}
        {%- do listed.append("'" ~ (value | string | replace("'", "''")) ~ "'") -%}
    {%- endfor -%}
    {%- do breaking.append((column ~ " is one of its accepted values",
                         column ~ " is not null and " ~ column ~ " not in (" ~ listed | join(", ") ~ ")")) -%}
{%- endfor -%}
{%- for column in is_trimmed -%}
    {%- do breaking.append((column ~ " has no leading or trailing spaces", column ~ " <> trim(" ~ column ~ ")")) -%}
{%- endfor -%}
{%- for column in not_empty_string -%}
    {%- do breaking.append((column ~ " is never an empty string",
                         column ~ " is not null and trim(" ~ column ~ ") = ''")) -%}
{%- endfor -%}
{%- for rule in expressions -%}
    {%- if rule is mapping -%}
        {%- do breaking.append((rule["expression"],
                             rule["column"] ~ " is not null and not coalesce((" ~ rule["expression"] ~ "), false)")) -%}
    {%- else -%}
        {%- do breaking.append((rule, "not coalesce((" ~ rule ~ "), false)")) -%}
    {%- endif -%}
{%- endfor -%}
{%- for label, condition in breaking -%}
    {%- do rules.append((label, "count(case when " ~ condition ~ " then 1 end)")) -%}
{%- endfor -%}
{%- if not rules -%}
    {{ exceptions.raise_compiler_error("row_rules on " ~ model ~ ": no rule given") }}
{%- endif %}
with broken as (
    select
    {%- for _, counted in rules %}
        {{ counted }} as rule_{{ loop.index }}{{ "," if not loop.last }}
    {%- endfor %}
    from {{ model }}
)
{%- for label, _ in rules %}
select '{{ label | replace("'", "''") }}' as rule, rule_{{ loop.index }} as failing_rows
from broken
where rule_{{ loop.index }} > 0
{{ "union all" if not loop.last }}
{%- endfor %}
{% endtest %}

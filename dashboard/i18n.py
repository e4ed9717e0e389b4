"""Labels in Portuguese and English, and number formats of each language.

Every text a user reads goes through `label`, so a page can never mix the two languages: a missing key
fails loudly (KeyError) in the tests rather than showing a key or a half-translated page.
"""

from __future__ import annotations

from typing import Literal

Language = Literal["pt", "en"]
LANGUAGES: tuple[Language, ...] = ("pt", "en")
LANGUAGE_NAMES: dict[Language, str] = {"pt": "Português", "en": "English"}

LABELS: dict[str, tuple[str, str]] = {
    # key: (pt, en)
    "app_title": ("cofre · painel", "cofre · dashboard"),
    "language": ("Idioma", "Language"),
    "filters": ("Filtros", "Filters"),
    "period": ("Período", "Period"),
    "state": ("Estado", "State"),
    "category": ("Categoria", "Category"),
    "all": ("Todos", "All"),
    "choose": ("Escolha uma opção", "Choose an option"),
    # page titles
    "page_overview": ("Visão geral", "Overview"),
    "page_sales": ("Vendas: nominal e real", "Sales: nominal and constant"),
    "page_categories": ("Categorias", "Categories"),
    "page_geography": ("Geografia", "Geography"),
    "page_delivery": ("Entregas por rota", "Delivery by route"),
    "page_sellers": ("Vendedores", "Sellers"),
    "page_customers": ("Coortes e RFM", "Cohorts and RFM"),
    "page_weather": ("Clima nas capitais", "Weather in the capitals"),
    "page_operations": ("Qualidade e operação", "Data quality and operations"),
    # empty states and errors
    "no_marts": (
        "Nenhum dado publicado ainda — execute `cofre run` e recarregue esta página.",
        "No published data yet — run `cofre run`, then reload this page.",
    ),
    "no_runs": (
        "Nenhuma execução registrada ainda — execute `cofre run`.",
        "No run recorded yet — run `cofre run`.",
    ),
    "no_rows": (
        "Nenhum dado para estes filtros: amplie o período ou escolha outro estado/categoria.",
        "No data for these filters: widen the period or pick another state/category.",
    ),
    "page_error": (
        "Não foi possível carregar esta página ({kind}). Se uma publicação estava em andamento, recarregue "
        "em instantes; senão, execute `cofre doctor`. Os detalhes estão no log do painel.",
        "Could not load this page ({kind}). If a publish was under way, reload in a moment; otherwise run "
        "`cofre doctor`. The details are in the dashboard's log.",
    ),
    "download_csv": ("Baixar CSV", "Download CSV"),
    # overview
    "gmv": ("GMV", "GMV"),
    "orders": ("Pedidos", "Orders"),
    "avg_ticket": ("Ticket médio", "Average ticket"),
    "customers": ("Clientes", "Customers"),
    "on_time": ("Entrega no prazo", "On-time delivery"),
    "avg_review": ("Avaliação média", "Average review"),
    "comparison": (
        "Comparado ao período anterior de mesma duração: {start} a {end}.",
        "Compared with the previous period of equal length: {start} to {end}.",
    ),
    "no_previous": (
        "Sem pedidos no período anterior de mesma duração ({start} a {end}): nada a comparar.",
        "No orders in the previous period of equal length ({start} to {end}): nothing to compare with.",
    ),
    "gmv_note": (
        "GMV = soma de preço + frete dos itens dos pedidos feitos no período (todos os status).",
        "GMV = sum of item price + freight of the orders placed in the period (every status).",
    ),
    "metric": ("Indicador", "Metric"),
    "current": ("Atual", "Current"),
    "previous": ("Anterior", "Previous"),
    "gmv_trend": ("GMV por mês: período atual e anterior", "GMV by month: this period and the previous one"),
    "this_period": ("Período atual", "This period"),
    "previous_period": ("Período anterior", "Previous period"),
    "month_state": ("Mês", "Month"),
    "incomplete": ("incompleto (fora das comparações)", "incomplete (left out of comparisons)"),
    "complete": ("completo", "complete"),
    "incomplete_note": (
        "Pontos vazados: meses incompletos (cobertos só em parte pelo período ou pelos dados, ou com "
        "poucos pedidos), fora das comparações: {months}. Meses sem pedidos aparecem como lacunas: {gaps}.",
        "Hollow points: incomplete months (only partly covered by the period or the data, or with very few "
        "orders), left out of comparisons: {months}. Months without orders are gaps: {gaps}.",
    ),
    "top_movers": ("Categorias que mais mudaram", "Categories that moved most"),
    "gmv_change": ("Variação do GMV", "GMV change"),
    "change_share": ("Variação (%)", "Change (%)"),
    "movers_note": (
        "Meses completos {start} a {end} comparados com {prior_start} a {prior_end}.",
        "Complete months {start} to {end} compared with {prior_start} to {prior_end}.",
    ),
    "no_complete_months": (
        "Nenhum mês completo no período: escolha um período mais longo para comparar categorias.",
        "No complete month in the period: choose a longer period to compare categories.",
    ),
    # sales
    "month": ("Mês", "Month"),
    "nominal_brl": ("R$ nominal", "Nominal BRL"),
    "constant_brl": ("R$ constante", "Constant BRL"),
    "series": ("Série", "Series"),
    "revenue": ("Receita", "Revenue"),
    "sales_note": (
        "R$ constante: valores deflacionados pelo IPCA para reais de {base} (fonte: BCB, série 433).",
        "Constant BRL: values deflated by IPCA to reais of {base} (source: BCB, series 433).",
    ),
    # categories
    "items": ("Itens", "Items"),
    "top_categories": ("Categorias por receita", "Categories by revenue"),
    "cooccurrence": ("Categorias compradas juntas", "Categories bought together"),
    "category_a": ("Categoria A", "Category A"),
    "category_b": ("Categoria B", "Category B"),
    "orders_together": ("Pedidos juntos", "Orders together"),
    "lift": ("Lift (vezes o acaso)", "Lift (times chance)"),
    "cooccurrence_note": (
        "Pares comprados juntos em pelo menos {min_orders} pedidos e com mais frequência do que o acaso "
        "(lift > 1), do maior lift ao menor.",
        "Pairs bought together in at least {min_orders} orders and more often than chance (lift > 1), "
        "highest lift first.",
    ),
    "no_pairs": (
        "Nenhum par de categorias é comprado junto com mais frequência do que o acaso nestes dados.",
        "No pair of categories is bought together more often than chance in this data.",
    ),
    # geography
    "region": ("Região", "Region"),
    "state_grid": ("Receita por estado", "Revenue by state"),
    "by_region": ("Receita por região", "Revenue by region"),
    "state_name": ("Nome", "Name"),
    "late_share": ("Atrasos", "Late share"),
    "delivery_days": ("Dias de entrega (média)", "Delivery days (mean)"),
    # delivery
    "seller_state": ("Estado do vendedor", "Seller state"),
    "customer_state": ("Estado do cliente", "Customer state"),
    "shipments": ("Envios", "Shipments"),
    "median_days": ("Mediana (dias)", "Median (days)"),
    "mean_days": ("Média (dias)", "Mean (days)"),
    "p90_days": ("P90 (dias)", "P90 (days)"),
    "routes_heatmap": ("Mediana de dias por rota", "Median days by route"),
    "routes_heatmap_note": (
        "Cores só para rotas com pelo menos {shipments} envios; a tabela abaixo traz todas.",
        "Colours only for routes with at least {shipments} shipments; the table below lists them all.",
    ),
    "delivery_note": (
        "Rotas vendedor → cliente de todo o histórico; o filtro de estado vale para as duas pontas.",
        "Seller → customer routes over the whole history; the state filter matches either end.",
    ),
    # sellers
    "seller": ("Vendedor", "Seller"),
    "on_time_rate": ("No prazo", "On time"),
    "cancellation_rate": ("Cancelamentos", "Cancellations"),
    "best_rank": ("Melhor posição no estado", "Best rank in state"),
    "months": ("Meses", "Months"),
    "sellers_note": (
        "Meses do período escolhido; taxas ponderadas pelo número de pedidos.",
        "Months of the chosen period; rates weighted by orders.",
    ),
    # customers
    "cohort_month": ("Coorte (1ª compra)", "Cohort (first purchase)"),
    "months_since_first": ("Meses desde a 1ª compra", "Months since first purchase"),
    "retention": ("Retenção", "Retention"),
    "cohort_size": ("Tamanho", "Size"),
    "cohorts": ("Retenção por coorte", "Retention by cohort"),
    "cohorts_note": (
        "Cores a partir do mês 1: o mês 0 (a primeira compra, sempre 100 %) fica de fora para não achatar a "
        "escala.",
        "Colours from month 1 on: month 0 (the first purchase, always 100 %) is left out so that it does not "
        "flatten the scale.",
    ),
    "month_n": ("Mês {n}", "Month {n}"),
    "rfm_segments": ("Segmentos RFM", "RFM segments"),
    "segment": ("Segmento", "Segment"),
    "recency_days": ("Recência média (dias)", "Mean recency (days)"),
    "frequency": ("Frequência média", "Mean frequency"),
    "monetary": ("Valor médio (R$)", "Mean monetary (BRL)"),
    "rfm_note": (
        "Clientes aparecem só em agregados: nenhum identificador é exibido.",
        "Customers appear only in aggregates: no identifier is shown.",
    ),
    # weather
    "weather_missing": (
        "O clima atual ainda não está nos dados publicados: rode `cofre run` para publicar "
        "`marts.fct_weather_current`.",
        "Current weather is not in the published data yet: run `cofre run` to publish "
        "`marts.fct_weather_current`.",
    ),
    "city": ("Capital", "Capital"),
    "temperature": ("Temperatura (°C)", "Temperature (°C)"),
    "feels_like": ("Sensação (°C)", "Feels like (°C)"),
    "humidity": ("Umidade (%)", "Humidity (%)"),
    "conditions": ("Condições", "Conditions"),
    "observed_at": ("Observado em", "Observed at"),
    "description": ("Descrição (OpenWeather)", "Description (OpenWeather)"),
    "origin": ("Origem", "Origin"),
    # operations
    "last_runs": ("Últimas execuções", "Last runs"),
    "run": ("Execução", "Run"),
    "run_status": ("Status", "Status"),
    "started_at": ("Início", "Started"),
    "seconds": ("Segundos", "Seconds"),
    "steps": ("Etapas", "Steps"),
    "failed_step": ("Etapa com falha", "Failed step"),
    "step_durations": ("Duração das etapas", "Step durations"),
    "step": ("Etapa", "Step"),
    "rows": ("Linhas", "Rows"),
    "finished_at": ("Fim", "Finished"),
    "error": ("Erro", "Error"),
    "gates": ("Resultados das verificações de qualidade", "Quality check results"),
    "privacy": ("Privacidade do que é publicado (k-anonimato)", "Privacy of what is published (k-anonymity)"),
    "privacy_caption": (
        "Cada combinação de quase-identificadores abaixo agrupa pelo menos k pessoas nos dados publicados "
        "na última execução (somente contagens; docs/privacy.md).",
        "Each combination of quasi-identifiers below groups at least k people in the data published by "
        "the last run (counts only; docs/privacy.md).",
    ),
    "privacy_table": ("Dados publicados", "Published data"),
    "quasi_identifiers": ("Quase-identificadores", "Quasi-identifiers"),
    "k_found": ("k medido", "k measured"),
    "k_required": ("k exigido", "k required"),
    "records_below_k": ("Registros abaixo de k", "Records below k"),
    "share_below_k": ("Parcela abaixo de k", "Share below k"),
    "gate": ("Verificação", "Check"),
    "outcome": ("Resultado", "Outcome"),
    "failures": ("Falhas", "Failures"),
    "when": ("Quando", "When"),
    "audit_status": ("Trilha de auditoria", "Audit trail"),
    "audit_ok": (
        "Íntegra: {events} eventos verificados em {checked_at}.",
        "Intact: {events} events verified at {checked_at}.",
    ),
    "audit_broken": (
        "FALHOU na verificação de {checked_at}: {reason}. Execute `cofre audit verify`.",
        "FAILED verification at {checked_at}: {reason}. Run `cofre audit verify`.",
    ),
    "audit_unknown": (
        "Nenhuma verificação registrada ainda.",
        "No verification recorded yet.",
    ),
    "freshness": ("Atualidade", "Freshness"),
    "last_success": ("Última execução bem-sucedida", "Last successful run"),
    "age": ("há {age}", "{age} ago"),
    "never": ("nunca", "never"),
    "newest_order": ("Pedido mais recente", "Newest order"),
    "run_steps_of": ("Etapas da execução", "Steps of run"),
}


def label(key: str, language: Language, **values: object) -> str:
    """The text of `key` in `language`, with `{placeholders}` filled from `values`."""
    pt, en = LABELS[key]
    text = pt if language == "pt" else en
    return text.format(**values) if values else text


# Values the data holds as stable codes, shown translated: (domain, code) -> (pt, en).
VALUES: dict[str, dict[str, tuple[str, str]]] = {
    "published_table": {
        "dim_customer": ("Clientes", "Customers"),
        "dim_seller": ("Vendedores", "Sellers"),
        "fct_orders": ("Pedidos", "Orders"),
        "fct_order_items": ("Itens dos pedidos", "Order items"),
        "fct_payments": ("Pagamentos", "Payments"),
        "fct_reviews": ("Avaliações", "Reviews"),
    },
    "quasi_identifier": {
        "state_code": ("UF", "State"),
        "customer_zip3": ("CEP (3 dígitos)", "ZIP prefix (3 digits)"),
        "seller_zip3": ("CEP (3 dígitos)", "ZIP prefix (3 digits)"),
        "seller_city": ("Cidade", "City"),
        "purchase_date": ("Data da compra", "Purchase date"),
        "review_created_date": ("Data da avaliação", "Review date"),
    },
    "segment": {
        "champions": ("Campeões", "Champions"),
        "loyal": ("Fiéis", "Loyal"),
        "promising": ("Promissores", "Promising"),
        "new": ("Novos", "New"),
        "at_risk": ("Em risco", "At risk"),
        "hibernating": ("Hibernando", "Hibernating"),
    },
    "status": {
        "succeeded": ("concluída", "succeeded"),
        "failed": ("falhou", "failed"),
        "running": ("em execução", "running"),
        "not run": ("não executada", "not run"),
        "success": ("aprovado", "passed"),
        "failure": ("reprovado", "failed"),
    },
    "step": {
        "prepare_olist": ("Preparar arquivos Olist", "Prepare Olist files"),
        "ingest_olist": ("Ingerir Olist", "Ingest Olist"),
        "ingest_ipca": ("Ingerir IPCA (BCB)", "Ingest IPCA (BCB)"),
        "ingest_weather": ("Ingerir clima (OpenWeather)", "Ingest weather (OpenWeather)"),
        "transform_silver": ("Transformar: silver", "Transform: silver"),
        "export_silver": ("Exportar silver ao lake", "Export silver to the lake"),
        "gold": ("Calcular agregados gold", "Compute gold aggregates"),
        "load_gold": ("Carregar gold no warehouse", "Load gold into the warehouse"),
        "transform_marts": ("Transformar: marts", "Transform: marts"),
        "publish_marts": ("Publicar marts", "Publish marts"),
        "lifecycle": ("Ciclo de vida do bronze", "Bronze lifecycle"),
    },
    "gate": {
        "dbt build silver duckdb": ("Silver: modelos e testes (DuckDB)", "Silver: models and tests (DuckDB)"),
        "dbt build marts duckdb": ("Marts: modelos e testes (DuckDB)", "Marts: models and tests (DuckDB)"),
        "dbt build silver postgres": (
            "Silver: modelos e testes (PostgreSQL)",
            "Silver: models and tests (PostgreSQL)",
        ),
        "dbt build marts postgres": (
            "Marts: modelos e testes (PostgreSQL)",
            "Marts: models and tests (PostgreSQL)",
        ),
        "gold reconciliation": ("Conciliação gold e silver", "Gold and silver reconciliation"),
        "privacy k-anonymity duckdb": ("Privacidade: k-anonimato (DuckDB)", "Privacy: k-anonymity (DuckDB)"),
        "privacy k-anonymity postgres": (
            "Privacidade: k-anonimato (PostgreSQL)",
            "Privacy: k-anonymity (PostgreSQL)",
        ),
    },
    "weather": {  # OpenWeather's `weather[0].main` groups
        "Clear": ("Céu limpo", "Clear sky"),
        "Clouds": ("Nublado", "Cloudy"),
        "Rain": ("Chuva", "Rain"),
        "Drizzle": ("Garoa", "Drizzle"),
        "Thunderstorm": ("Trovoada", "Thunderstorm"),
        "Snow": ("Neve", "Snow"),
        "Mist": ("Névoa", "Mist"),
        "Fog": ("Neblina", "Fog"),
        "Haze": ("Bruma", "Haze"),
        "Smoke": ("Fumaça", "Smoke"),
        "Dust": ("Poeira", "Dust"),
    },
    "region": {
        "Norte": ("Norte", "North"),
        "Nordeste": ("Nordeste", "Northeast"),
        "Centro-Oeste": ("Centro-Oeste", "Center-West"),
        "Sudeste": ("Sudeste", "Southeast"),
        "Sul": ("Sul", "South"),
        "unknown": ("Desconhecida", "Unknown"),
    },
    "origin": {},
}


def value_label(domain: str, code: object, language: Language) -> str:
    """A stored code shown in `language`; a code the table does not know is shown as it is (readable)."""
    if code is None or (isinstance(code, float) and code != code):
        return "—"
    text = str(code)
    if domain == "origin":  # 'snapshot:openweather-2026-11' or 'live'
        kind, _, rest = text.partition(":")
        if kind == "snapshot":
            return ("instantâneo " if language == "pt" else "snapshot ") + rest
        return ("ao vivo" if language == "pt" else "live") if kind == "live" else text
    pair = VALUES[domain].get(text)
    if pair is None:
        return text.replace("_", " ")
    return pair[0] if language == "pt" else pair[1]

{{/* Names, labels and the pieces every Kinerja workload shares. */}}

{{- define "kinerja.fullname" -}}
{{- if contains "kinerja" .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-kinerja" .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Labels of objects that belong to no one workload. */}}
{{- define "kinerja.labels" -}}
{{ include "kinerja.commonLabels" . }}
{{ include "kinerja.releaseSelector" . }}
{{- end -}}

{{/* Besides a workload's selector labels. */}}
{{- define "kinerja.commonLabels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: kinerja
{{- end -}}

{{/* Every pod of the release: the peers Kafka's listener lets in. */}}
{{- define "kinerja.releaseSelector" -}}
app.kubernetes.io/name: kinerja
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* (dict "root" $ "service" "journal" "component" "api" ["projection" "journal.entries"]) */}}
{{- define "kinerja.selector" -}}
{{ include "kinerja.releaseSelector" .root }}
app.kubernetes.io/component: {{ .component }}
kinerja/service: {{ .service }}
{{- with .projection }}
kinerja/projection: {{ . }}
{{- end }}
{{- end -}}

{{- define "kinerja.image" -}}
{{- $tag := .Values.image.tag | default .Chart.AppVersion -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ $tag }}
{{- end -}}
{{- end -}}

{{- define "kinerja.topic" -}}
{{- printf "%s.%s.v1" .root.Values.settings.topicNamespace .service -}}
{{- end -}}

{{- define "kinerja.deadLetterTopic" -}}
{{- printf "%s.dlq.%s" .root.Values.settings.topicNamespace .projection -}}
{{- end -}}

{{- define "kinerja.kafkaBootstrap" -}}
{{- if .Values.kafka.create -}}
{{- printf "%s-kafka-bootstrap:%d" .Values.kafka.name (int .Values.kafka.listenerPort) -}}
{{- else -}}
{{- required "kafka.bootstrapServers is required when kafka.create is false" .Values.kafka.bootstrapServers -}}
{{- end -}}
{{- end -}}

{{- define "kinerja.database" -}}
{{- printf "%s-%s-db" (include "kinerja.fullname" .root) .service -}}
{{- end -}}

{{/* The Secret whose `uri` is the service's DSN: the one CloudNativePG makes for its owner. */}}
{{- define "kinerja.databaseSecret" -}}
{{- $svc := index .root.Values.services .service -}}
{{- if and $svc.database $svc.database.existingSecret -}}
{{- $svc.database.existingSecret -}}
{{- else -}}
{{- printf "%s-app" (include "kinerja.database" .) -}}
{{- end -}}
{{- end -}}

{{- define "kinerja.jwtSecret" -}}
{{- .Values.jwt.existingSecret | default (printf "%s-jwt" (include "kinerja.fullname" .)) -}}
{{- end -}}

{{/* A workload's settings: the kind's defaults overridden by the service's own. */}}
{{- define "kinerja.workload" -}}
{{- $defaults := deepCopy (index .root.Values.workloads .kind) -}}
{{- toYaml (mustMergeOverwrite $defaults (deepCopy (.overrides | default dict))) -}}
{{- end -}}

{{/* KINERJA_* that every process reads (shared/config.py: KinerjaSettings). */}}
{{- define "kinerja.settingsEnv" -}}
{{- $v := .root.Values -}}
- name: KINERJA_KAFKA_BOOTSTRAP_SERVERS
  value: {{ include "kinerja.kafkaBootstrap" .root | quote }}
- name: KINERJA_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "kinerja.databaseSecret" . }}
      key: uri
- name: KINERJA_TOPIC_NAMESPACE
  value: {{ $v.settings.topicNamespace | quote }}
- name: KINERJA_TOPIC_PARTITIONS
  value: {{ $v.kafka.partitions | quote }}
- name: KINERJA_TOPIC_REPLICATION_FACTOR
  value: {{ $v.kafka.replicationFactor | quote }}
- name: KINERJA_AGENCY
  value: {{ $v.settings.agency | quote }}
- name: KINERJA_TIME_ZONE
  value: {{ $v.settings.timeZone | quote }}
- name: KINERJA_LOG_LEVEL
  value: {{ $v.settings.logLevel | quote }}
- name: KINERJA_LOG_JSON
  value: {{ $v.settings.logJson | quote }}
{{- end -}}

{{/* What the HTTP API reads besides: where it listens, and how tokens are verified. */}}
{{- define "kinerja.apiEnv" -}}
{{- $v := .root.Values -}}
{{- $svc := index $v.services .service -}}
{{- $publicKey := eq $v.jwt.verification "public-key" -}}
- name: KINERJA_{{ upper .service }}_HOST
  value: "0.0.0.0"
- name: KINERJA_{{ upper .service }}_PORT
  value: {{ $svc.port | quote }}
- name: KINERJA_JWT_PUBLIC_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "kinerja.jwtSecret" .root }}
      key: public-key
      optional: {{ not $publicKey }}
- name: KINERJA_JWT_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ include "kinerja.jwtSecret" .root }}
      key: secret
      optional: {{ $publicKey }}
- name: KINERJA_JWT_ISSUER
  value: {{ $v.jwt.issuer | quote }}
- name: KINERJA_JWT_AUDIENCE
  value: {{ $v.jwt.audience | quote }}
- name: KINERJA_JWT_LEEWAY_SECONDS
  value: {{ $v.jwt.leewaySeconds | quote }}
{{- end -}}

{{/* The pod-level settings every Kinerja pod shares. */}}
{{- define "kinerja.podDefaults" -}}
serviceAccountName: {{ include "kinerja.fullname" . }}
automountServiceAccountToken: false
enableServiceLinks: false
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
volumes:
  - name: tmp
    emptyDir: {sizeLimit: 64Mi}
{{- end -}}

{{- define "kinerja.containerDefaults" -}}
image: {{ include "kinerja.image" . }}
imagePullPolicy: {{ .Values.image.pullPolicy }}
securityContext:
  {{- toYaml .Values.containerSecurityContext | nindent 2 }}
volumeMounts:
  - name: tmp
    mountPath: /tmp
{{- end -}}

{{/* Replicas spread over nodes and zones, so one node or zone lost takes only a share. */}}
{{- define "kinerja.spread" -}}
topologySpreadConstraints:
  - maxSkew: 1
    topologyKey: kubernetes.io/hostname
    whenUnsatisfiable: ScheduleAnyway
    labelSelector:
      matchLabels:
        {{- include "kinerja.selector" . | nindent 8 }}
  - maxSkew: 1
    topologyKey: topology.kubernetes.io/zone
    whenUnsatisfiable: ScheduleAnyway
    labelSelector:
      matchLabels:
        {{- include "kinerja.selector" . | nindent 8 }}
{{- end -}}

{{- define "kinerja.checks" -}}
{{- if ne .Values.settings.topicNamespace "kinerja" -}}
{{- fail "settings.topicNamespace: only `kinerja` until `python -m shared.projections run` builds its projection in KINERJA_TOPIC_NAMESPACE" -}}
{{- end -}}
{{- if not (has .Values.jwt.verification (list "public-key" "shared-secret")) -}}
{{- fail "jwt.verification is public-key or shared-secret" -}}
{{- end -}}
{{- if not .Values.jwt.existingSecret -}}
{{- if and (eq .Values.jwt.verification "public-key") (not .Values.jwt.publicKey) -}}
{{- fail "jwt: give the identity provider's public key (jwt.publicKey) or a Secret with it (jwt.existingSecret)" -}}
{{- end -}}
{{- if and (eq .Values.jwt.verification "shared-secret") (not .Values.jwt.secret) -}}
{{- fail "jwt: shared-secret verification needs jwt.secret or jwt.existingSecret" -}}
{{- end -}}
{{- end -}}
{{- end -}}

"""Registry API for operators and CI pipelines (staff only)."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_serializer, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ml.errors import ServiceError
from ml.registry import services, serving
from ml.registry.models import ModelVersion
from ml.serving import ModelNotAvailable


class ModelVersionOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = ModelVersion
        fields = [
            "id",
            "task",
            "version",
            "task_type",
            "base_model",
            "hyperparameters",
            "dataset_fingerprint",
            "dataset_size",
            "metrics",
            "status",
            "progress",
            "status_message",
            "error",
            "stage",
            "device",
            "train_seconds",
            "created_at",
            "started_at",
            "finished_at",
            "promoted_at",
        ]


class ModelVersionListApi(APIView):
    permission_classes = [IsAdminUser]

    @extend_schema_serializer(component_name="ModelVersionQueueInput")
    class InputSerializer(serializers.Serializer):
        task = serializers.CharField(max_length=100)
        task_type = serializers.ChoiceField(choices=ModelVersion.TaskType.values, required=False)
        base_model = serializers.CharField(max_length=500, required=False)
        dataset_path = serializers.CharField(max_length=500, required=False, default="")
        hyperparameters = serializers.DictField(required=False, default=dict)
        notes = serializers.CharField(required=False, default="", allow_blank=True)

    @extend_schema(operation_id="ml_models_list", responses=ModelVersionOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        versions = ModelVersion.objects.all()
        if task := request.query_params.get("task"):
            versions = versions.filter(task=task)
        return Response(ModelVersionOutputSerializer(versions[:200], many=True).data)

    @extend_schema(
        operation_id="ml_models_queue",
        request=InputSerializer,
        responses={201: ModelVersionOutputSerializer},
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        version = services.model_version_queue(**data.validated_data, created_by=request.user)
        return Response(ModelVersionOutputSerializer(version).data, status=201)


class ModelVersionDetailApi(APIView):
    permission_classes = [IsAdminUser]

    @extend_schema(operation_id="ml_models_retrieve", responses=ModelVersionOutputSerializer)
    def get(self, request: Request, version_id: int) -> Response:
        version = get_object_or_404(ModelVersion, id=version_id)
        return Response(ModelVersionOutputSerializer(version).data)


class ModelVersionPromoteApi(APIView):
    permission_classes = [IsAdminUser]

    @extend_schema(
        operation_id="ml_models_promote", request=None, responses=ModelVersionOutputSerializer
    )
    def post(self, request: Request, version_id: int) -> Response:
        version = get_object_or_404(ModelVersion, id=version_id)
        promoted = services.model_version_promote(version=version, actor=request.user)
        return Response(ModelVersionOutputSerializer(promoted).data)


class TaskRollbackApi(APIView):
    permission_classes = [IsAdminUser]

    @extend_schema(
        operation_id="ml_tasks_rollback", request=None, responses=ModelVersionOutputSerializer
    )
    def post(self, request: Request, task: str) -> Response:
        restored = services.model_version_rollback(task=task, actor=request.user)
        return Response(ModelVersionOutputSerializer(restored).data)


class TaskPredictApi(APIView):
    """Ask a task's production model directly: for checking a promotion end to end."""

    permission_classes = [IsAdminUser]

    @extend_schema_serializer(component_name="TaskPredictInput")
    class InputSerializer(serializers.Serializer):
        texts = serializers.ListField(
            child=serializers.CharField(max_length=5000), min_length=1, max_length=256
        )
        text_pairs = serializers.ListField(
            child=serializers.CharField(max_length=5000), required=False, max_length=256
        )

        def validate(self, attrs: dict) -> dict:
            pairs = attrs.get("text_pairs")
            if pairs is not None and len(pairs) != len(attrs["texts"]):
                raise serializers.ValidationError({"text_pairs": "must have one entry per text"})
            return attrs

    @extend_schema(
        operation_id="ml_tasks_predict",
        request=InputSerializer,
        responses=inline_serializer(
            "TaskPredictOutput",
            {
                "task": serializers.CharField(),
                "predictions": serializers.ListField(
                    child=inline_serializer(
                        "TaskPrediction",
                        {
                            "version": serializers.CharField(),
                            "label": serializers.CharField(),
                            "confidence": serializers.FloatField(),
                            "scores": serializers.DictField(child=serializers.FloatField()),
                        },
                    )
                ),
            },
        ),
    )
    def post(self, request: Request, task: str) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            answers = serving.predict_texts(
                task, data.validated_data["texts"], data.validated_data.get("text_pairs")
            )
        except ModelNotAvailable as exc:
            raise ServiceError(str(exc), code="model_not_available") from exc
        return Response(
            {
                "task": task,
                "predictions": [
                    {
                        "version": version_key,
                        "label": ranked[0][0],
                        "confidence": ranked[0][1],
                        "scores": dict(ranked),
                    }
                    for version_key, ranked in answers
                ],
            }
        )

# Scribe's app on a CPU, for self-hosting: docker build -t scribe . && docker run -p 7860:7860 scribe
# CPU torch from PyTorch's own index (a fraction of the CUDA build's size), the shipped model, a
# non-root user. The app honours GRADIO_SERVER_NAME / GRADIO_SERVER_PORT, as Hugging Face Spaces set them.
FROM python:3.11-slim

RUN apt-get update && apt-get install -y --no-install-recommends libcairo2 && rm -rf /var/lib/apt/lists/*
RUN useradd --create-home --uid 1000 scribe
WORKDIR /home/scribe/app

COPY --chown=scribe:scribe pyproject.toml requirements.txt README.md LICENSE LICENSE-WEIGHTS.md app.py ./
COPY --chown=scribe:scribe scribe/ scribe/
COPY --chown=scribe:scribe train/ train/
COPY --chown=scribe:scribe checkpoints/ checkpoints/
RUN pip install --no-cache-dir torch --index-url https://download.pytorch.org/whl/cpu \
    && pip install --no-cache-dir -r requirements.txt

USER scribe
ENV GRADIO_SERVER_NAME=0.0.0.0 GRADIO_SERVER_PORT=7860 OMP_NUM_THREADS=1 PYTHONUNBUFFERED=1
EXPOSE 7860
CMD ["python", "app.py"]
